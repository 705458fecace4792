#!/usr/bin/env bash
# Provide the binaries of the local test cluster: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and KWOK (simulated nodes and pod lifecycles), plus KWOK's stage definitions.
#
# Binaries given explicitly win (MODELSTACK_ETCD_BIN, MODELSTACK_KUBE_BIN_DIR, MODELSTACK_KWOK_BIN).
# Otherwise each is built from its Go module (no release binary can be downloaded on machines that only
# reach package registries) into a cache folder outside the repository, one folder per component and
# version, so a second run reuses it in seconds. Nothing built here is ever written into the repository.
#
# Prints `etcd=`, `kube_apiserver=`, `kube_controller_manager=`, `kube_scheduler=`, `kwok=`,
# `kwok_stages=` and `kubernetes_version=` lines on stdout; progress goes to stderr.
# Exit 1 names the step that failed; its full log stays in the cache folder.
set -euo pipefail

ETCD_VERSION=${MODELSTACK_ETCD_VERSION:-v3.6.16}
# 1.36 is the newest minor whose schemas pulumi-kubernetes 4.34 bundles and whose client libraries
# KWOK v0.8.0 is built against; kube 1.36 itself requires the etcd 3.6 line.
KUBE_VERSION=${MODELSTACK_KUBE_VERSION:-v1.36.3}
KWOK_VERSION=${MODELSTACK_KWOK_VERSION:-v0.8.0}
CACHE=${MODELSTACK_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/modelstack/toolchain}
NICE=${MODELSTACK_BUILD_NICE:-10}
mkdir -p "$CACHE"
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD_LOCK_SCRIPT=$ROOT/scripts/cluster-toolchain.sh BUILD_LOCK_ARGS=("$@")
export GOFLAGS=${GOFLAGS:-} GOTOOLCHAIN=${GOTOOLCHAIN:-local}

step_no=0
log() { printf '[cluster-toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=lib/build-lock.sh
. "$ROOT/scripts/lib/build-lock.sh"
# Run one named step at low priority; on failure print the step, its log's tail and exit 1.
run_step() {
    local name=$1 logfile=$2; shift 2
    step_no=$((step_no + 1))
    log "step $step_no: $name (log: $logfile)"
    local started=$SECONDS
    # `go build -v` prints one line per package compiled: count them as progress.
    if ! nice -n "$NICE" "$@" > >(awk -v tag="$name" '{n++; if (n % 100 == 0) { printf("  %s: %d packages\n", tag, n) > "/dev/stderr"; fflush("/dev/stderr") } print > "/dev/stdout"}' >"$logfile") 2>&1; then
        sleep 0.2
        log "FAILED at step $step_no: $name; last lines of $logfile:"
        tail -n 25 "$logfile" >&2 || true
        exit 1
    fi
    sleep 0.2
    log "step $step_no done in $((SECONDS - started)) s"
}
# A fresh wrapper module: the upstream modules carry local `replace` directives, so `go install
# module@version` refuses them; a wrapper requiring them by version is the supported way round.
wrapper() {
    rm -rf "$1" && mkdir -p "$1" && (cd "$1" && go mod init "local/$2" >/dev/null 2>&1)
}
finish() { # tmp dir -> final dir, marked complete
    rm -rf "$1/src" && rm -rf "$2" && mv "$1" "$2" && touch "$2/.complete"
}

command -v go >/dev/null 2>&1 || { log "FAILED: no 'go' on PATH (Go 1.26 or newer is needed to build the cluster binaries)"; exit 1; }

# --- etcd -----------------------------------------------------------------------------------------
if [ -n "${MODELSTACK_ETCD_BIN:-}" ]; then
    etcd_bin=$MODELSTACK_ETCD_BIN
    log "using etcd $etcd_bin"
else
    etcd_dir=$CACHE/etcd-$ETCD_VERSION
    if [ -x "$etcd_dir/etcd" ] && [ -f "$etcd_dir/.complete" ]; then
        log "etcd $ETCD_VERSION cached in $etcd_dir"
    else
        build_lock
        log "building etcd $ETCD_VERSION from its Go module into $etcd_dir (a few minutes cold)"
        rm -rf "$etcd_dir.tmp" && mkdir -p "$etcd_dir.tmp"
        w=$etcd_dir.tmp/src
        wrapper "$w" etcd-build
        run_step "resolve go.etcd.io/etcd/server/v3@$ETCD_VERSION" "$etcd_dir.tmp/resolve.log" \
            bash -c "cd '$w' && go get go.etcd.io/etcd/server/v3@$ETCD_VERSION"
        run_step "build etcd" "$etcd_dir.tmp/build.log" \
            bash -c "cd '$w' && go build -v -trimpath -ldflags '-s -w' -o '$etcd_dir.tmp/etcd' go.etcd.io/etcd/server/v3"
        "$etcd_dir.tmp/etcd" --version >"$etcd_dir.tmp/version.txt" 2>&1 || { log "FAILED: the built etcd does not run"; exit 1; }
        finish "$etcd_dir.tmp" "$etcd_dir"
    fi
    etcd_bin=$etcd_dir/etcd
fi

# --- kube-apiserver, kube-controller-manager, kube-scheduler --------------------------------------
kube_cmds="kube-apiserver kube-controller-manager kube-scheduler"
if [ -n "${MODELSTACK_KUBE_BIN_DIR:-}" ]; then
    kube_bin=$MODELSTACK_KUBE_BIN_DIR
    log "using kube binaries in $kube_bin"
else
    kube_dir=$CACHE/kubernetes-$KUBE_VERSION
    if [ -f "$kube_dir/.complete" ]; then
        log "kubernetes $KUBE_VERSION control plane cached in $kube_dir"
    else
        build_lock
        log "building kube-apiserver, kube-controller-manager and kube-scheduler $KUBE_VERSION into $kube_dir"
        log "a cold build takes tens of minutes on 2 cores (see docs/cluster.md); later runs reuse it"
        rm -rf "$kube_dir.tmp" && mkdir -p "$kube_dir.tmp/bin"
        w=$kube_dir.tmp/src
        wrapper "$w" kube-build
        minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
        staging=v0.${KUBE_VERSION#v1.}
        # k8s.io/kubernetes requires each staging module (k8s.io/api, k8s.io/apiserver, ...) at v0.0.0 with a
        # `=> ./staging/src/...` replace; the same code is published as v0.<minor>.<patch> of each module.
        run_step "map k8s.io/kubernetes $KUBE_VERSION's staging modules to $staging" "$kube_dir.tmp/staging.log" \
            bash -c "cd '$w' && gomod=\$(go mod download -json k8s.io/kubernetes@$KUBE_VERSION | python3 -c 'import json,sys;print(json.load(sys.stdin)[\"GoMod\"])') && for m in \$(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' \"\$gomod\"); do echo \$m; go mod edit -replace=\$m=\$m@$staging; done"
        # Naming the commands (not just the module) makes `go get` resolve and record their dependencies.
        run_step "resolve k8s.io/kubernetes@$KUBE_VERSION" "$kube_dir.tmp/resolve.log" \
            bash -c "cd '$w' && go get $(for c in $kube_cmds; do printf 'k8s.io/kubernetes/cmd/%s@%s ' "$c" "$KUBE_VERSION"; done)"
        # Without the version a server reports v0.0.0 and the Pulumi provider refuses the cluster.
        ld="-s -w"
        for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            ld="$ld -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
        done
        for c in $kube_cmds; do
            run_step "build $c" "$kube_dir.tmp/build-$c.log" \
                bash -c "cd '$w' && go build -v -pgo=off -trimpath -ldflags '$ld' -o '$kube_dir.tmp/bin/$c' k8s.io/kubernetes/cmd/$c"
        done
        "$kube_dir.tmp/bin/kube-apiserver" --version >"$kube_dir.tmp/version.txt" 2>&1 || { log "FAILED: the built kube-apiserver does not run"; exit 1; }
        grep -q "$KUBE_VERSION" "$kube_dir.tmp/version.txt" || { log "FAILED: kube-apiserver reports $(cat "$kube_dir.tmp/version.txt"), not $KUBE_VERSION"; exit 1; }
        finish "$kube_dir.tmp" "$kube_dir"
    fi
    kube_bin=$kube_dir/bin
fi

# --- KWOK: simulated nodes and pod lifecycles -----------------------------------------------------
kwok_dir=$CACHE/kwok-$KWOK_VERSION
if [ -n "${MODELSTACK_KWOK_BIN:-}" ]; then
    kwok_bin=$MODELSTACK_KWOK_BIN
    log "using kwok $kwok_bin"
fi
if [ -x "$kwok_dir/kwok" ] && [ -f "$kwok_dir/.complete" ]; then
    log "kwok $KWOK_VERSION cached in $kwok_dir"
else
    build_lock
    log "building kwok $KWOK_VERSION from its Go module into $kwok_dir"
    rm -rf "$kwok_dir.tmp" && mkdir -p "$kwok_dir.tmp"
    w=$kwok_dir.tmp/src
    wrapper "$w" kwok-build
    run_step "resolve sigs.k8s.io/kwok@$KWOK_VERSION" "$kwok_dir.tmp/resolve.log" \
        bash -c "cd '$w' && go get sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    if [ -z "${MODELSTACK_KWOK_BIN:-}" ]; then
        run_step "build kwok" "$kwok_dir.tmp/build.log" \
            bash -c "cd '$w' && go build -v -trimpath -ldflags '-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}' -o '$kwok_dir.tmp/kwok' sigs.k8s.io/kwok/cmd/kwok"
    fi
    # The stages kwokctl configures by default: nodes become Ready and keep their leases; pods on them
    # become Ready, Job pods complete, deleted pods go away.
    run_step "collect kwok's default stages" "$kwok_dir.tmp/stages.log" \
        bash -c "cd '$w' && src=\$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok) && for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do echo '---'; cat \"\$src/kustomize/stage/\$f\"; done > '$kwok_dir.tmp/stages.yaml' && grep -c '^kind: Stage' '$kwok_dir.tmp/stages.yaml'"
    finish "$kwok_dir.tmp" "$kwok_dir"
fi
kwok_bin=${kwok_bin:-$kwok_dir/kwok}

echo "etcd=$etcd_bin"
echo "kube_apiserver=$kube_bin/kube-apiserver"
echo "kube_controller_manager=$kube_bin/kube-controller-manager"
echo "kube_scheduler=$kube_bin/kube-scheduler"
echo "kwok=$kwok_bin"
echo "kwok_stages=$kwok_dir/stages.yaml"
echo "kubernetes_version=$KUBE_VERSION"
