#!/usr/bin/env bash
# The offline job of .github/workflows/pull-request.yml, runnable anywhere: for every stack given (default:
# every Pulumi.<stack>.yaml), the Markdown preview against BASE, then the policy pack; writes the
# pull-request comment to OUT. Every stack is previewed and checked even when one fails, so the comment is
# complete. The workflow runs it once per stack the change touches (`modelstack stacks --changed-since`),
# in parallel jobs, and joins the comments.
#
# Usage: scripts/pr-preview.sh [BASE [OUT [STACK...]]]   (defaults: origin/main, preview.md, every stack)
# Env:   MODELSTACK, the command to run (default .venv/bin/modelstack, what `make setup` installs).
# Exit:  0 when every preview and check passed; otherwise the highest exit code of a failed step
#        (2: an invalid catalog or a changed released version; 1: a policy violation or another failure).
set -uo pipefail

base=${1:-origin/main}
out=${2:-preview.md}
read -r -a modelstack <<< "${MODELSTACK:-.venv/bin/modelstack}"
status=0

stacks=("${@:3}")
if [ ${#stacks[@]} -eq 0 ]; then
  for file in Pulumi.*.yaml; do
    [ -e "$file" ] || continue
    name=${file#Pulumi.}
    stacks+=("${name%.yaml}")
  done
fi
if [ ${#stacks[@]} -eq 0 ]; then
  echo "pr-preview: no Pulumi.<stack>.yaml in $(pwd)" >&2
  exit 1
fi

record() {
  local code=$1
  if [ "$code" -gt "$status" ]; then status=$code; fi
}

{
  for stack in "${stacks[@]}"; do
    echo "pr-preview: preview of stack $stack against $base" >&2
    "${modelstack[@]}" preview --stack "$stack" --base "$base" --markdown
    record $?
    echo
  done
  echo "### Policy check"
  for stack in "${stacks[@]}"; do
    echo "pr-preview: policy check of stack $stack" >&2
    echo
    echo "#### stack $stack"
    echo
    echo '```text'
    "${modelstack[@]}" check --stack "$stack" 2>&1
    record $?
    echo '```'
  done
} > "$out"

echo "pr-preview: wrote $out (exit $status)" >&2
exit "$status"
