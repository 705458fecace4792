"""The offline engine: runs the Pulumi program under Pulumi's mock runtime and works on what it declares.

Owns `render` (run `components.program` with the stack's configuration, write one YAML file per
Kubernetes object plus `outputs.json` and the versions lock), `mocks` (the lean mock runtime),
`manifest_yaml` (the byte-stable YAML writer), `manifest` and `lock` (what a render contains and records),
`diff` and `plan_format` (the plan between two renders and its text, JSON and Markdown forms), `preview`
(render a base revision with its own code and plan against it) and `check` (the policy pack over a
render). It may import `components` only: the release tooling and the CLI build on it, never the other
way round, so a check the engine runs on their behalf (preview's immutability guard) is passed in.
"""
