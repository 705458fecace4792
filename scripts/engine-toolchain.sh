#!/usr/bin/env bash
# Provide the real Pulumi engine: the `pulumi` CLI, the Python language host (with its -exec script)
# and the Kubernetes resource provider, installed as the plugin version the pinned Python SDK asks for.
#
# Official binaries win: a `pulumi` on PATH (or MODELSTACK_PULUMI_BIN) is used as it is, with the
# language host beside it. Otherwise every piece is built from Go modules (no Pulumi binary can be
# downloaded on machines that only reach package registries) into a cache folder outside the
# repository, one folder per component and version, so a second run reuses it in seconds:
#   pulumi-<version>/bin/pulumi                      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-python-<source hash>/bin/...     tools/pulumi-language-python (upstream source, see
#                                                    its README: the module itself is not served)
#   pulumi-resource-kubernetes-v<version>/...        github.com/pulumi/pulumi-kubernetes/provider/v4
# Nothing built here is ever written into the repository.
#
# Prints `path=<dirs>` (put them first on PATH), `provider=<binary>` and `kubernetes_version=<v>` on
# stdout; progress goes to stderr. Exit 1 names the step that failed; its full log stays in the cache.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PULUMI_VERSION=${MODELSTACK_PULUMI_VERSION:-v3.274.1}
# The provider version is the one the pinned pulumi-kubernetes Python SDK requests as its plugin.
K8S_VERSION=${MODELSTACK_K8S_PROVIDER_VERSION:-$(sed -n 's/^pulumi-kubernetes==//p' "$ROOT/requirements.txt")}
CACHE=${MODELSTACK_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/modelstack/toolchain}
mkdir -p "$CACHE"
BUILD_LOCK_SCRIPT=$ROOT/scripts/engine-toolchain.sh BUILD_LOCK_ARGS=("$@")
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

step_no=0
log() { printf '[engine-toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=lib/build-lock.sh
. "$ROOT/scripts/lib/build-lock.sh"
# Run one named step; on failure print the step, its log's tail and exit 1. `go build -v` prints one
# line per package compiled: with STEP_TOTAL set (from `go list -deps`) that is the progress shown.
run_step() {
    local name=$1 logfile=$2; shift 2
    local total=${STEP_TOTAL:-?}
    step_no=$((step_no + 1))
    log "step $step_no: $name (log: $logfile)"
    local started=$SECONDS
    if ! "$@" > >(awk -v tag="$name" -v total="$total" '{n++; if (n % 50 == 0) { printf("  %s: %d of ~%s packages\n", tag, n, total) > "/dev/stderr"; fflush("/dev/stderr") } print > "/dev/stdout"}' >"$logfile") 2>&1; then
        sleep 0.2
        log "FAILED at step $step_no: $name; last lines of $logfile:"
        tail -n 25 "$logfile" >&2 || true
        exit 1
    fi
    sleep 0.2
    log "step $step_no done in $((SECONDS - started)) s"
}
# A component's folder appears only when complete: built in <dir>.tmp, then renamed.
finish() { rm -rf "$1" && mv "$1.tmp" "$1" && touch "$1/.complete"; }

command -v go >/dev/null 2>&1 || [ -n "${MODELSTACK_PULUMI_BIN:-}" ] || command -v pulumi >/dev/null 2>&1 || {
    log "FAILED: no 'go' on PATH (Go 1.26 or newer builds the engine) and no pulumi CLI installed"
    exit 1
}
ld_version="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

# --- (a) the CLI ------------------------------------------------------------------------------------
official=${MODELSTACK_PULUMI_BIN:-$(command -v pulumi 2>/dev/null || true)}
cli_dir=$CACHE/pulumi-$PULUMI_VERSION
case "$official" in "$CACHE"/*) official="" ;; esac
if [ -n "$official" ]; then
    cli_bin=$(dirname "$official")
    log "using the pulumi CLI on PATH: $official ($("$official" version 2>/dev/null || echo '?'))"
elif [ -f "$cli_dir/.complete" ]; then
    cli_bin=$cli_dir/bin
    log "pulumi $PULUMI_VERSION: cached in $cli_dir"
else
    build_lock
    log "building pulumi $PULUMI_VERSION from Go modules into $cli_dir"
    log "a cold build takes about 20 minutes on 2 busy cores (README: 'The real engine'); later runs reuse it"
    rm -rf "$cli_dir.tmp" && mkdir -p "$cli_dir.tmp/bin" "$cli_dir.tmp/src"
    w=$cli_dir.tmp/src
    (
        cd "$w"
        go mod init local/pulumi-build >/dev/null 2>&1
        # pkg/go.mod replaces atotto/clipboard with a fork, so `go install pkg/v3/cmd/pulumi@v` is refused;
        # a wrapper module that repeats the replace builds it.
        go mod edit -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
    )
    run_step "resolve pulumi $PULUMI_VERSION modules" "$cli_dir.tmp/resolve.log" \
        bash -c "cd '$w' && go get -tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION && go get github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
    STEP_TOTAL=$(cd "$w" && go list -deps github.com/pulumi/pulumi/pkg/v3/cmd/pulumi 2>/dev/null | wc -l) \
    run_step "build pulumi CLI" "$cli_dir.tmp/build.log" \
        bash -c "cd '$w' && go build -v -trimpath -tags osusergo,grpcnotrace -ldflags '-s -w $ld_version' -o '$cli_dir.tmp/bin/pulumi' github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
    "$cli_dir.tmp/bin/pulumi" version >/dev/null || { log "FAILED: the built pulumi does not run"; exit 1; }
    rm -rf "$w"
    finish "$cli_dir"
    cli_bin=$cli_dir/bin
fi

# --- (b) the Python language host -------------------------------------------------------------------
# The CLI looks for `pulumi-language-python` beside itself and on PATH, and the host needs its
# `pulumi-language-python-exec` shim beside it ("missing executor" otherwise).
if [ -n "$official" ] && [ -x "$cli_bin/pulumi-language-python" ]; then
    lang_bin=$cli_bin
    log "using the language host beside the official CLI: $lang_bin/pulumi-language-python"
else
    src=$ROOT/tools/pulumi-language-python
    lang_hash=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-12)
    lang_dir=$CACHE/pulumi-language-python-$lang_hash
    if [ -f "$lang_dir/.complete" ]; then
        log "pulumi-language-python ($lang_hash): cached in $lang_dir"
    else
        build_lock
        log "building pulumi-language-python from tools/pulumi-language-python into $lang_dir (cold: ~2 min)"
        rm -rf "$lang_dir.tmp" && mkdir -p "$lang_dir.tmp/bin"
        run_step "download the language host's modules" "$lang_dir.tmp/download.log" \
            bash -c "cd '$src' && go mod download -x"
        STEP_TOTAL=$(cd "$src" && go list -deps . 2>/dev/null | wc -l) \
        run_step "build pulumi-language-python" "$lang_dir.tmp/build.log" \
            bash -c "cd '$src' && go build -v -trimpath -ldflags '-s -w $ld_version' -o '$lang_dir.tmp/bin/pulumi-language-python' ."
        # The -exec shim and the policy/plugin entry point ship in the sdk/v3 module of the same release.
        run_step "install the language host's -exec shims" "$lang_dir.tmp/shims.log" \
            bash -c "cd '$src' && sdk=\$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3) && install -m 0755 \"\$sdk/python/cmd/pulumi-language-python-exec\" \"\$sdk/python/dist/pulumi-resource-pulumi-python\" '$lang_dir.tmp/bin/'"
        finish "$lang_dir"
    fi
    lang_bin=$lang_dir/bin
fi

# --- (c) the Kubernetes resource provider -----------------------------------------------------------
prov_dir=$CACHE/pulumi-resource-kubernetes-v$K8S_VERSION
if [ -f "$prov_dir/.complete" ]; then
    log "pulumi-resource-kubernetes $K8S_VERSION: cached in $prov_dir"
else
    build_lock
    log "building pulumi-resource-kubernetes $K8S_VERSION from its Go module into $prov_dir"
    log "a cold build takes about 15 minutes on 2 busy cores; later runs reuse it"
    rm -rf "$prov_dir.tmp" && mkdir -p "$prov_dir.tmp"
    # The provider module has no tags of its own: a release is a pseudo-version of its tag's commit
    # (tag v4.25.0 = commit f47bc2d6f199, 2026-01-15). Module proxies that serve only some versions
    # (the one here serves no later release, see docs/engine.md) need it named exactly.
    case "$K8S_VERSION" in
        4.25.0) prov_version=${MODELSTACK_K8S_PROVIDER_MODULE_VERSION:-v4.0.0-20260115033456-f47bc2d6f199} ;;
        *) prov_version=${MODELSTACK_K8S_PROVIDER_MODULE_VERSION:-} ;;
    esac
    if [ -z "$prov_version" ]; then
        run_step "find the commit of pulumi-kubernetes v$K8S_VERSION" "$prov_dir.tmp/resolve.log" \
            bash -c "go mod download -json github.com/pulumi/pulumi-kubernetes/sdk/v4@v$K8S_VERSION | python3 -c 'import json,sys;d=json.load(sys.stdin);print(d[\"Origin\"][\"Hash\"])'"
        prov_version=$(tail -n 1 "$prov_dir.tmp/resolve.log")
    fi
    run_step "download provider/v4@$prov_version" "$prov_dir.tmp/download.log" \
        bash -c "go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4@$prov_version | python3 -c 'import json,sys;d=json.load(sys.stdin);print(d[\"Dir\"])'"
    src=$(tail -n 1 "$prov_dir.tmp/download.log")
    w=$prov_dir.tmp/src
    cp -r "$src" "$w" && chmod -R u+w "$w"
    # A local `sdk/v4 => ../sdk` replace and generated embed files keep `go install` from working: build
    # a writable copy, without the replace, after the module's own go:generate step.
    (cd "$w" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4)
    run_step "generate the provider's embedded schema" "$prov_dir.tmp/generate.log" \
        bash -c "cd '$w/cmd/pulumi-resource-kubernetes' && VERSION=$K8S_VERSION GOFLAGS=-mod=mod go run generate.go"
    STEP_TOTAL=$(cd "$w" && GOFLAGS=-mod=mod go list -deps ./cmd/pulumi-resource-kubernetes 2>/dev/null | wc -l) \
    run_step "build pulumi-resource-kubernetes" "$prov_dir.tmp/build.log" \
        bash -c "cd '$w' && GOFLAGS=-mod=mod go build -v -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_VERSION' -o '$prov_dir.tmp/pulumi-resource-kubernetes' ./cmd/pulumi-resource-kubernetes"
    echo "github.com/pulumi/pulumi-kubernetes/provider/v4@$prov_version" >"$prov_dir.tmp/module-version"
    rm -rf "$w"
    finish "$prov_dir"
fi

# The CLI prefers a language host beside its own executable (one on PATH draws a warning on every
# run): when both are built here, one folder holds them, hard-linked (os.Executable resolves symlinks).
if [ -z "$official" ]; then
    engine_dir=$CACHE/engine-$PULUMI_VERSION-$lang_hash
    if [ ! -f "$engine_dir/.complete" ]; then
        build_lock
        rm -rf "$engine_dir.tmp" && mkdir -p "$engine_dir.tmp/bin"
        for f in "$cli_bin"/* "$lang_bin"/*; do
            ln "$f" "$engine_dir.tmp/bin/" 2>/dev/null || cp -p "$f" "$engine_dir.tmp/bin/"
        done
        finish "$engine_dir"
    fi
    cli_bin=$engine_dir/bin lang_bin=$engine_dir/bin
fi

echo "path=$cli_bin:$lang_bin"
echo "provider=$prov_dir/pulumi-resource-kubernetes"
echo "kubernetes_version=$K8S_VERSION"
