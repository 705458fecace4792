#!/usr/bin/env bash
# The local test cluster (real etcd, kube-apiserver, kube-controller-manager, kube-scheduler on
# 127.0.0.1; KWOK nodes): docs/cluster.md.
#
#   scripts/cluster.sh [up] [--nodes-from-stack prod]   foreground; prints KUBECONFIG=…; Ctrl-C stops it
#   scripts/cluster.sh start [--nodes-from-stack prod]  in the background; returns once it is ready
#   scripts/cluster.sh stop                             stops a background cluster (bounded, no leftovers)
#
# State (kubeconfig, certificates, etcd data, logs) lives in $MODELSTACK_CLUSTER_DIR (default build/cluster).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${MODELSTACK_CLUSTER_DIR:-$root/build/cluster}
python=$root/.venv/bin/python
[ -x "$python" ] || { echo "error: no .venv; run 'bash scripts/bootstrap.sh' first" >&2; exit 1; }
cmd=${1:-up}
[ $# -gt 0 ] && shift
cd "$root"
case $cmd in
    up)
        exec "$python" -m tests.cluster.run --dir "$dir" "$@"
        ;;
    start)
        mkdir -p "$(dirname "$dir")"
        pidfile=$dir.pid
        if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "error: a cluster already runs (pid $(cat "$pidfile")); scripts/cluster.sh stop" >&2; exit 1
        fi
        setsid "$python" -m tests.cluster.run --dir "$dir" "$@" >"$dir.out" 2>"$dir.err" </dev/null &
        echo $! >"$pidfile"
        # The toolchain build may take long on a cold machine; the start itself is bounded by the runner.
        while ! grep -q '^KUBECONFIG=' "$dir.out" 2>/dev/null; do
            if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
                cat "$dir.err" >&2; rm -f "$pidfile"; exit 1
            fi
            sleep 1
        done
        cat "$dir.out"
        ;;
    stop)
        pidfile=$dir.pid
        [ -f "$pidfile" ] || { echo "no background cluster ($pidfile missing)" >&2; exit 0; }
        pid=$(cat "$pidfile")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "the runner did not stop in 30 s; killing its process group" >&2
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        # Components run in process groups of their own: whatever is left of them goes too.
        if [ -f "$dir/pgids" ]; then
            while read -r pgid name; do
                if kill -0 -- "-$pgid" 2>/dev/null; then
                    echo "killing leftover $name (process group $pgid)" >&2
                    kill -KILL -- "-$pgid" 2>/dev/null || true
                fi
            done <"$dir/pgids"
        fi
        rm -f "$pidfile"
        tail -n 1 "$dir.err" >&2 || true
        ;;
    *)
        echo "usage: scripts/cluster.sh [up|start|stop] [--nodes-from-stack STACK]" >&2; exit 2
        ;;
esac
