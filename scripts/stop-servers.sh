#!/usr/bin/env bash
# Stops the servers the integration tests started and left running for the next run: the Docker engine
# (dockerd) and the local registry on 127.0.0.1:5000, by the process ids scripts/setup-docker.sh wrote.
# Prometheus needs no stopping: each test session starts its own and stops it at the end.
# A process is only signalled if it still is the server that was started (pids are reused).
set -uo pipefail
CACHE="${MODELSTACK_CACHE:-${HOME:-/root}/.cache/modelstack}"

stop() {
  local name=$1 pidfile=$2 pid
  if [ ! -f "$pidfile" ]; then
    echo "stop-servers: $name: not started by modelstack (no $pidfile)"
    return 0
  fi
  pid=$(cat "$pidfile")
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$name"; then
    kill "$pid" && echo "stop-servers: $name (pid $pid) stopped"
  else
    echo "stop-servers: $name (pid $pid) is not running"
  fi
  rm -f "$pidfile"
}

stop docker-registry "$CACHE/registry.pid"
stop dockerd "$CACHE/dockerd.pid"
