"""The example model server's modules, one idea each; ``server.py`` next to this package is the process.

Imports go one way, so each module reads on its own:

  config       Settings from the environment (PORT, MODEL_NAME, WEIGHTS_PATH, PRECISION, ...); imports none
  model        the NumPy MLP: loading ``weights.npz``, shape checks, precision casts; imports none
  metrics      metric names and the registry ``/metrics`` renders, Triton's counters included; imports none
  protocol     the KServe-v2 wire format: request parsing and validation, ``RequestError``; imports none
  app          ``ModelServer``: readiness, metadata and inference with its metrics; imports the four above
  http_server  routes and HTTP plumbing on ``http.server``; imports app, metrics, protocol

The package is a plain directory beside ``server.py`` (the image copies both into ``/opt/model-server``),
so a script run of ``server.py`` finds it on ``sys.path`` without installing anything.
"""
