"""Model quality: the golden-set evaluator program (stdlib only) and the stack objects that run it."""
