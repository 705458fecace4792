#!/usr/bin/env bash
# Fills examples/model-server/wheelhouse/ with exactly the wheels pinned (with hashes) in its
# requirements.txt, for the image's interpreter: CPython 3.11 on glibc 2.36 x86_64 (Debian bookworm),
# whatever the host runs. The Docker build then installs from it with no network.
# Idempotent: when the wheelhouse already holds the pinned set it does not touch the network.
# Usage: scripts/fetch-wheelhouse.sh [MODEL_SERVER_DIR]   (env: PYTHON, to pick the pip to run)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER_DIR="$(cd "${1:-$ROOT/examples/model-server}" && pwd)"
LOCK="$SERVER_DIR/requirements.txt"
DEST="$SERVER_DIR/wheelhouse"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
TARGET_PYTHON=3.11
TARGET_GLIBC_MINOR=36

# pip does not expand manylinux_2_X to older glibc tags, so list every tag a glibc 2.36 system accepts.
platforms=(--platform manylinux2014_x86_64)
for ((minor = TARGET_GLIBC_MINOR; minor >= 17; minor--)); do
  platforms+=(--platform "manylinux_2_${minor}_x86_64")
done

download() {  # download <dir> [pip options...]
  local dir="$1"; shift
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --require-hashes --only-binary=:all: \
    --python-version "$TARGET_PYTHON" --implementation cp --abi "cp${TARGET_PYTHON/./}" \
    "${platforms[@]}" --dest "$dir" -r "$LOCK" "$@"
}

tmp="$(mktemp -d "$DEST.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
if [[ -d "$DEST" ]] && download "$tmp" --no-index --find-links "$DEST" 2>/dev/null; then
  echo "fetch-wheelhouse: pinned set already in $DEST" >&2
else
  rm -rf "${tmp:?}"/*
  download "$tmp" || { echo "fetch-wheelhouse: pip download failed" >&2; exit 1; }
  echo "fetch-wheelhouse: downloaded pinned set into $DEST" >&2
fi
# Replace rather than add, so the wheelhouse (a Docker build input) holds exactly the locked set.
chmod 755 "$tmp" && chmod 644 "$tmp"/*
rm -rf "$DEST" && mv "$tmp" "$DEST"
trap - EXIT
ls -1 "$DEST"
