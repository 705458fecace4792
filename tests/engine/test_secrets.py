"""A secret set with `pulumi config set --secret` stays encrypted: in the stack file, the state, the
rendered output and the exports."""

from __future__ import annotations

from tests.engine.engine import RENDER_DIR, Stack

SECRET = "s3cr3t-registry-token-5f1c9a"


def everything_written(stack: Stack) -> dict[str, bytes]:
    """The state backend (state, history, backups), the rendered objects and the stack file."""
    files = {str(stack.project / "Pulumi.dev.yaml"): (stack.project / "Pulumi.dev.yaml").read_bytes()}
    for root in (stack.project / RENDER_DIR, stack.engine.backend):
        for path in root.rglob("*"):
            if path.is_file():
                files[str(path)] = path.read_bytes()
    return files


def test_registry_password_never_appears_in_plain_text(dev_stack: Stack) -> None:
    dev_stack.run("config", "set", "--secret", "--stack", "dev", "modelstack:registryPassword", SECRET)
    dev_stack.up()

    stack_file = (dev_stack.project / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    assert "secure:" in stack_file
    written = everything_written(dev_stack)
    assert any("/.pulumi/stacks/" in path for path in written), sorted(written)
    leaked = [path for path, data in written.items() if SECRET.encode() in data]
    assert leaked == []
    exported = dev_stack.run("stack", "output", "--stack", "dev", "--json").stdout
    assert SECRET not in exported
    # The engine can still decrypt it: the value is there, only never in plain text.
    shown = dev_stack.run("config", "get", "--stack", "dev", "modelstack:registryPassword").stdout
    assert shown.strip() == SECRET
