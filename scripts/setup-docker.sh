#!/usr/bin/env bash
# Prepares everything the image integration tests need, on a fresh Debian machine, as root, without stdin:
#   1. docker.io, docker-registry and debootstrap (apt, only when missing);
#   2. a Docker engine (dockerd in the background, unless one already answers);
#   3. a registry on 127.0.0.1:5000 (Debian's docker-registry, config and storage under the cache dir);
#   4. a debootstrap'd Debian base image (rootfs tarball cached), pushed to that registry.
# Idempotent and fast when everything is already there. The last line on stdout is the base image's
# digest reference (127.0.0.1:5000/modelstack/base@sha256:...); it is also written to
# $MODELSTACK_CACHE/base-image.ref. Progress goes to stderr.
#
# Exit codes: 0 ready; 77 Docker cannot run here (the one-line reason is on stderr, prefixed "SKIP:",
# so tests can skip with it); anything else is a real failure.
set -euo pipefail

readonly EXIT_DOCKER_UNAVAILABLE=77
CACHE="${MODELSTACK_CACHE:-${HOME:-/root}/.cache/modelstack}"
REGISTRY_ADDR="${MODELSTACK_REGISTRY:-127.0.0.1:5000}"
DEBIAN_SUITE="${MODELSTACK_DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${MODELSTACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python3 (not just python3-minimal) for http.server/json; python3-pip so the Dockerfile can install the
# pinned wheels with hash checking from the build-context wheelhouse, without network.
BASE_PACKAGES="python3,python3-pip"
WAIT_SECONDS="${MODELSTACK_WAIT_SECONDS:-60}"

log() { printf 'setup-docker: %s\n' "$*" >&2; }
skip() { printf 'SKIP: %s\n' "$*" >&2; exit "$EXIT_DOCKER_UNAVAILABLE"; }
die() { printf 'setup-docker: error: %s\n' "$*" >&2; exit 1; }
is_root() { [[ "$(id -u)" == 0 ]]; }

# CAP_SYS_ADMIN (bit 21) is what dockerd needs for mounts and namespaces; unprivileged containers lack it.
has_cap_sys_admin() {
  local eff
  eff="$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null || echo 0)"
  (( (16#${eff:-0} >> 21) & 1 ))
}

docker_ok() { docker info >/dev/null 2>&1; }
registry_ok() { curl -fs -o /dev/null --max-time 2 "http://${REGISTRY_ADDR}/v2/"; }

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.5
  done
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  [[ -x /usr/bin/docker-registry ]] || missing+=(docker-registry)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v curl >/dev/null || missing+=(curl)
  command -v flock >/dev/null || missing+=(util-linux)
  ((${#missing[@]})) || return 0
  is_root || die "needs root to install: ${missing[*]}"
  log "installing ${missing[*]}"
  # Keep package maintainer scripts from starting services: this script starts them itself, with its
  # own config (the packaged registry would listen on every interface).
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local rc=0
  # Wait for the dpkg lock rather than fail: other setup scripts may be installing at the same time.
  local wait_lock=(-o DPkg::Lock::Timeout=600)
  { apt-get "${wait_lock[@]}" update -qq &&
    apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
  ((created_policy)) && rm -f "$policy"
  ((rc == 0)) || die "apt-get install ${missing[*]} failed (exit $rc)"
}

start_dockerd() {
  docker_ok && return 0
  is_root || skip "Docker engine is not running and starting one needs root (uid $(id -u))"
  has_cap_sys_admin || skip "no CAP_SYS_ADMIN (unprivileged container?): dockerd cannot run here"
  local logfile="$CACHE/dockerd.log"
  log "starting dockerd (log: $logfile)"
  setsid dockerd >>"$logfile" 2>&1 </dev/null 9>&- &
  local pid=$!
  echo "$pid" >"$CACHE/dockerd.pid" # for scripts/stop-servers.sh
  if ! wait_for "$WAIT_SECONDS" docker_ok; then
    local reason
    reason="$(grep -iE 'level=(error|fatal)|failed' "$logfile" | tail -n 1 | cut -c1-300)"
    kill "$pid" 2>/dev/null || true
    skip "dockerd did not come up within ${WAIT_SECONDS}s: ${reason:-see $logfile}"
  fi
}

start_registry() {
  registry_ok && return 0
  local dir="$CACHE/registry"
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YAML
  log "starting registry on $REGISTRY_ADDR (log: $dir/registry.log)"
  setsid /usr/bin/docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null 9>&- &
  echo "$!" >"$CACHE/registry.pid" # for scripts/stop-servers.sh
  wait_for 20 registry_ok || die "registry did not answer on $REGISTRY_ADDR; see $dir/registry.log"
}

# Builds (or reuses) the base rootfs tarball and image; prints the pushed digest reference.
build_base_image() {
  local key tag tarball tmp
  key="$(printf '%s|%s|%s' "$DEBIAN_SUITE" minbase "$BASE_PACKAGES" | sha256sum | cut -c1-12)"
  tag="$REGISTRY_ADDR/modelstack/base:$DEBIAN_SUITE-$key"
  tarball="$CACHE/base/rootfs-$DEBIAN_SUITE-$key.tar"
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    if [[ ! -s "$tarball" ]]; then
      is_root || die "needs root to debootstrap the base rootfs"
      tmp="$CACHE/base/rootfs.tmp"
      rm -rf "$tmp" && mkdir -p "$tmp"
      log "debootstrap $DEBIAN_SUITE minbase + $BASE_PACKAGES (cached in $tarball)"
      debootstrap --variant=minbase --include="$BASE_PACKAGES" "$DEBIAN_SUITE" "$tmp" "$DEBIAN_MIRROR" \
        >"$CACHE/base/debootstrap.log" 2>&1 || die "debootstrap failed; see $CACHE/base/debootstrap.log"
      rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
      tar --numeric-owner -C "$tmp" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
      rm -rf "$tmp"
    fi
    log "importing $tarball as $tag"
    docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' "$tarball" "$tag" >/dev/null
  fi
  # Always push: cheap when the registry has it, and repairs a registry whose storage was wiped.
  docker push --quiet "$tag" >/dev/null || die "docker push $tag failed"
  docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$tag" \
    | grep -m1 "^$REGISTRY_ADDR/modelstack/base@sha256:" || die "no registry digest for $tag after push"
}

main() {
  mkdir -p "$CACHE/base"
  # Serialise concurrent runs (e.g. several pytest-xdist workers sharing one machine).
  command -v flock >/dev/null && { exec 9>"$CACHE/setup.lock"; flock -w 1800 9; }
  if ! docker_ok; then
    is_root || skip "Docker engine is not running and starting one needs root (uid $(id -u))"
    has_cap_sys_admin || skip "no CAP_SYS_ADMIN (unprivileged container?): dockerd cannot run here"
  fi
  install_packages
  start_dockerd
  start_registry
  local ref
  ref="$(build_base_image)"
  printf '%s\n' "$ref" >"$CACHE/base-image.ref"
  log "base image: $ref"
  printf '%s\n' "$ref"
}

main "$@"
