#!/usr/bin/env bash
# Install Prometheus and promtool from Debian for the metric-gate integration tests.
#
# Idempotent, non-interactive, needs root (CI runs as root). It only installs the binaries: the tests
# start their own `prometheus` instances on a free port with a backfilled TSDB, so the Debian service
# must not be started (containers have no systemd; a policy-rc.d keeps invoke-rc.d from trying).
# Prints the two paths as `prometheus=<path>` and `promtool=<path>` on stdout.
set -euo pipefail

have_both() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }

if ! have_both; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup-prometheus: prometheus/promtool missing and not root; cannot apt-get install" >&2
        exit 1
    fi
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        # 101 = "action forbidden": the package's maintainer scripts then skip starting the service.
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        created_policy=1
    fi
    cleanup() { if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi; }
    trap cleanup EXIT
    export DEBIAN_FRONTEND=noninteractive
    # Refresh the index only when the package is unknown (fresh images ship without lists).
    if ! apt-cache show prometheus >/dev/null 2>&1; then
        apt-get update -qq >&2
    fi
    apt-get install -y -qq --no-install-recommends prometheus >&2
    # Debian's daemon may have been started anyway by a non-policy-rc.d path; ours are the only ones.
    if command -v service >/dev/null 2>&1; then service prometheus stop >/dev/null 2>&1 || true; fi
fi

if ! have_both; then
    echo "setup-prometheus: prometheus/promtool still not on PATH after install" >&2
    exit 1
fi
echo "prometheus=$(command -v prometheus)"
echo "promtool=$(command -v promtool)"
