#!/usr/bin/env bash
# Create .venv with the pinned dependencies; a no-op when the requirements have not changed.
# Says what it does: each step on one line, each package as pip fetches it (a cold install is about a
# minute and a half, mostly pulumi and grpcio wheels), and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "modelstack needs Python 3.11 or newer")'

say() { printf 'setup: %s\n' "$*" >&2; }
started=$SECONDS
pip() { .venv/bin/python -m pip --disable-pip-version-check "$@"; }
# setuptools announces every editable install with a boxed "be careful with folders named like your
# package" notice: true of every editable install, nothing to act on, so it is filtered out.
export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:Editable installation"

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
say "pinning pip 26.3"
pip install --quiet --upgrade pip==26.3
say "installing the pinned packages of requirements-dev.txt (and requirements.txt):"
# pip's own progress, one line per package, without its download bars and resolver chatter.
pip install --progress-bar off -r requirements-dev.txt | sed -un 's/^Collecting \([^ ]*\).*/  · \1/p'
say "installing modelstack itself (editable: components/ and modelstack/ of this checkout)"
pip install --quiet --no-deps --no-build-isolation -e .
echo "$want" > "$stamp"
say "ready in $((SECONDS - started)) s: .venv/bin/modelstack, .venv/bin/pytest"
