# shellcheck shell=bash
# A container engine for docker-compose.yml on machines without Docker, for stack/stack.sh:
# Debian's podman (runc, cgroupfs, netavark + aardvark-dns, iptables) serving the Docker API on a
# unix socket, Docker Compose v2 built from the Go module proxy, and a Debian base image made
# with debootstrap (kept as a tarball in the cache; compose/standins.sh builds every image on it).
# Sourced after lib.sh; defines compose_install, compose_start, compose_stop, compose_reset,
# compose_status, compose_version. Only when named: `stack/stack.sh up compose`.
#
# Why each part (details and findings: docs/compose.md):
#   - runc + cgroupfs: podman's default crun fails here ("cgroups in hybrid mode not supported")
#     and there is no systemd for the systemd cgroup manager.
#   - containers.conf ulimits = the machine's hard limits: without CAP_SYS_RESOURCE a container
#     may not raise an rlimit, and podman's default (nofile 1048576) makes runc fail with
#     "error setting rlimit type 7: operation not permitted".
#   - a healthcheck driver: podman schedules healthchecks with systemd timers; without systemd
#     nothing runs them and `depends_on: condition: service_healthy` waits forever. The driver
#     runs `podman healthcheck run` for every running container that has one, every
#     COMPOSE_HEALTH_EVERY seconds, as Docker's engine would at each `interval`.
#   - its own podman storage, so nothing here touches the machine's default podman state:
#     graphroot in the cache (images survive `down`), runroot and tmp dir at a fixed short path
#     per cache (podman's database pins the ones it was first used with, so they cannot follow
#     the run dir), network configs and the API socket in the run dir.
#
# After `up`, compose/compose.sh runs docker-compose against it (compose_env: DOCKER_HOST,
# CONTAINERS_CONF, CONTAINERS_STORAGE_CONF); compose/standins.sh builds the stand-in images.
#
# Environment (all optional):
#   COMPOSE_VERSION          Docker Compose module tag (default 2.40.3)
#   COMPOSE_DEBIAN_SUITE     debootstrap suite of the base image (default bookworm)
#   COMPOSE_DEBIAN_MIRROR    mirror for debootstrap and apt inside images (default: the first
#                            http mirror of the machine's apt sources, else deb.debian.org)
#   COMPOSE_HEALTH_EVERY     seconds between two healthcheck rounds (default 2)
#   COMPOSE_BUILD_TIMEOUT    seconds before the compose build is abandoned (default 2400)

COMPOSE_VERSION="${COMPOSE_VERSION:-2.40.3}"
COMPOSE_MODULE="github.com/docker/compose/v2"
COMPOSE_BIN="$STACK_CACHE_DIR/compose-$COMPOSE_VERSION/docker-compose"
COMPOSE_DEBIAN_SUITE="${COMPOSE_DEBIAN_SUITE:-bookworm}"
COMPOSE_BASE_TAR="$STACK_CACHE_DIR/compose-base/debian-$COMPOSE_DEBIAN_SUITE-minbase.tar"
COMPOSE_APT_PACKAGES=(podman runc iptables netavark aardvark-dns fuse-overlayfs slirp4netns uidmap debootstrap)
# Image storage in the cache (warm runs reuse the built images); runtime state in the run dir.
COMPOSE_GRAPHROOT="$STACK_CACHE_DIR/compose-podman/storage"
# podman refuses a runroot longer than 50 characters ("the specified runroot is longer than 50
# characters": every container's cleanup then fails, and it stays "stopped", never "exited",
# so compose's service_completed_successfully waits forever). A short path per cache dir.
COMPOSE_RUN_BASE="/run/recoscope-compose-$(printf '%s' "$STACK_CACHE_DIR" | sha256sum | cut -c1-8)"
COMPOSE_RUNROOT="$COMPOSE_RUN_BASE/runroot"
COMPOSE_TMPDIR="$COMPOSE_RUN_BASE/tmp"
COMPOSE_STATE="$STACK_RUN_DIR/compose"

compose_debian_mirror() {
  if [ -n "${COMPOSE_DEBIAN_MIRROR:-}" ]; then echo "$COMPOSE_DEBIAN_MIRROR"; return; fi
  local m
  m="$(grep -h -o 'http://[^ ]*debian/*' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
       | grep -v -e snapshot -e security | head -n1)"
  echo "${m:-http://deb.debian.org/debian}"
}

# The variables every podman / docker / docker-compose call of ours needs (compose/compose.sh
# and compose/standins.sh call this after sourcing this file).
compose_env() {
  export CONTAINERS_CONF="$COMPOSE_STATE/containers.conf"
  export CONTAINERS_STORAGE_CONF="$COMPOSE_STATE/storage.conf"
  export DOCKER_HOST="unix://$COMPOSE_STATE/podman.sock"
  # Compose's build goes through the engine's classic build API (podman has no BuildKit).
  export DOCKER_BUILDKIT=0
}

# Three parts, each skipped when cached: the Debian packages and the base rootfs are mostly
# downloads, the compose binary is a Go build (CPU); .ci/run runs the first two beside the other
# builds and the third later.
compose_install() {
  compose_install_packages
  compose_install_binary
  compose_install_base
}

compose_install_packages() {
  require_root "compose: podman runs as root here (apt-get, iptables, runc)"
  local missing=() p t0
  for p in "${COMPOSE_APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    t0=$(date +%s)
    log "compose: apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
      || die "compose: apt-get install ${missing[*]} failed"
    log "compose: packages installed in $(( $(date +%s) - t0 ))s"
  fi
}

compose_install_binary() {
  local t0
  if [ -x "$COMPOSE_BIN" ]; then
    log "compose: docker-compose $COMPOSE_VERSION cached at $COMPOSE_BIN"
  else
    command -v go >/dev/null || die "compose: go is needed to build Docker Compose"
    t0=$(date +%s)
    # `go install …/cmd@v` refuses the module (its go.mod has exclude directives): build in a
    # writable copy, as for Jaeger and Filebeat.
    go_module_copy compose "$COMPOSE_MODULE" "$COMPOSE_VERSION" "$STACK_CACHE_DIR/compose-src-$COMPOSE_VERSION"
    log "compose: building docker-compose (first build downloads the dependencies, several minutes)"
    go_build_module compose "$STACK_CACHE_DIR/compose-src-$COMPOSE_VERSION" "$COMPOSE_BIN" "${COMPOSE_BUILD_TIMEOUT:-2400}" \
      -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=v$COMPOSE_VERSION" ./cmd
    log "compose: built $COMPOSE_BIN in $(( $(date +%s) - t0 ))s"
  fi
  command -v docker >/dev/null || log "compose: note: no docker CLI on PATH (docker-compose itself does not need it)"
}

compose_install_base() {
  local t0
  if [ -s "$COMPOSE_BASE_TAR" ]; then
    log "compose: base image rootfs cached at $COMPOSE_BASE_TAR"
  else
    local root mirror
    t0=$(date +%s)
    mirror="$(compose_debian_mirror)"
    root="$STACK_CACHE_DIR/compose-base/rootfs.partial"
    rm -rf "$root"; mkdir -p "$root"
    log "compose: debootstrap --variant=minbase $COMPOSE_DEBIAN_SUITE from $mirror"
    debootstrap --variant=minbase "$COMPOSE_DEBIAN_SUITE" "$root" "$mirror" > "$STACK_CACHE_DIR/compose-base/debootstrap.log" 2>&1 \
      || { tail -n 20 "$STACK_CACHE_DIR/compose-base/debootstrap.log" >&2; die "compose: debootstrap failed"; }
    # apt inside image builds uses the same mirror; the package lists are not kept.
    echo "deb $mirror $COMPOSE_DEBIAN_SUITE main" > "$root/etc/apt/sources.list"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" -cf "$COMPOSE_BASE_TAR.tmp" . && mv "$COMPOSE_BASE_TAR.tmp" "$COMPOSE_BASE_TAR"
    rm -rf "$root"
    log "compose: base rootfs $COMPOSE_BASE_TAR made in $(( $(date +%s) - t0 ))s"
  fi
}

# containers.conf and storage.conf, from this machine's hard limits and our own directories.
_compose_write_conf() {
  local nofile nproc
  nofile="$(ulimit -Hn)"; nproc="$(ulimit -Hu)"
  if [ "$nofile" = unlimited ]; then nofile=1048576; fi
  # nproc at the hard limit was refused by runc here (96363); 20000 was accepted.
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 20000 ]; then nproc=20000; fi
  mkdir -p "$COMPOSE_STATE/networks" "$COMPOSE_RUNROOT" "$COMPOSE_TMPDIR" "$COMPOSE_GRAPHROOT"
  cat > "$COMPOSE_STATE/containers.conf" <<EOF
# Generated by stack/compose.sh from this machine's hard limits (ulimit -Hn / -Hu).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[network]
network_config_dir = "$COMPOSE_STATE/networks"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$COMPOSE_TMPDIR"
EOF
  cat > "$COMPOSE_STATE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$COMPOSE_GRAPHROOT"
runroot = "$COMPOSE_RUNROOT"
EOF
  printf 'COMPOSE_NOFILE=%s\nCOMPOSE_NPROC=%s\n' "$nofile" "$nproc" > "$COMPOSE_STATE/limits.env"
}

compose_start() {
  local p
  if p="$(read_pid compose-podman)"; then log "compose: podman API already running (pid $p)"; return 0; fi
  [ -x "$COMPOSE_BIN" ] || die "compose: not installed, run: stack/stack.sh install compose"
  command -v podman >/dev/null || die "compose: podman not installed, run: stack/stack.sh install compose"
  _compose_write_conf
  compose_env
  rm -f "$COMPOSE_STATE/podman.sock"
  : > "$STACK_RUN_DIR/compose-podman.log"
  start_background compose-podman podman system service --time 0 "$DOCKER_HOST"
  local i
  for ((i=0; i<300; i++)); do
    if http_probe -fsS --unix-socket "$COMPOSE_STATE/podman.sock" http://d/_ping >/dev/null 2>&1; then break; fi
    read_pid compose-podman >/dev/null || { tail -n 20 "$STACK_RUN_DIR/compose-podman.log" >&2; die "compose: podman system service exited"; }
    sleep 0.1
  done
  http_probe -fsS --unix-socket "$COMPOSE_STATE/podman.sock" http://d/_ping >/dev/null 2>&1 \
    || { stop_pid compose-podman 5; die "compose: podman API not answering on $DOCKER_HOST"; }
  : > "$STACK_RUN_DIR/compose-health.log"
  start_background compose-health bash "$PROJECT_ROOT/compose/healthcheck-driver.sh" "${COMPOSE_HEALTH_EVERY:-2}"
  log "compose: up: podman API (pid $(cat "$STACK_RUN_DIR/compose-podman.pid")) on $DOCKER_HOST, healthcheck driver (pid $(cat "$STACK_RUN_DIR/compose-health.pid"))"
}

compose_stop() {
  stop_pid compose-health 5
  stop_pid compose-podman 20
  _compose_reap_conmon
}

# A healthcheck exec that was running when its container was removed (`down` while the driver
# runs) leaves its conmon waiting for minutes (podman's --exit-delay 300). Once no container of
# ours runs, every conmon still naming our storage is such a leftover: stop it, by pid.
_compose_reap_conmon() {
  [ -f "$COMPOSE_STATE/containers.conf" ] || return 0
  compose_env
  if [ -n "$(podman ps -q 2>/dev/null)" ]; then return 0; fi
  local d pid cmd i
  local -a left=()
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    cmd="$(tr '\0' ' ' 2>/dev/null < "$d/cmdline")" || continue
    case "$cmd" in
      /usr/bin/conmon\ *"$COMPOSE_GRAPHROOT/"*)
        log "compose: conmon $pid of a finished exec session left behind: stopping it"
        kill -TERM "$pid" 2>/dev/null && left+=("$pid") ;;
    esac
  done
  # Gone within 5 s, or SIGKILL: `down` returns with none of them left.
  for ((i=0; i<50 && ${#left[@]} > 0; i++)); do
    for pid in "${!left[@]}"; do pid_alive "${left[$pid]}" || unset "left[$pid]"; done
    [ ${#left[@]} -eq 0 ] || sleep 0.1
  done
  for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

# Run state only (API socket, network configs, generated confs); the images in the cache stay.
compose_reset() { rm -rf "$COMPOSE_STATE" "$STACK_RUN_DIR/compose-podman.log" "$STACK_RUN_DIR/compose-health.log"; }

compose_status() {
  local p
  if p="$(read_pid compose-podman)" && http_probe -fsS --unix-socket "$COMPOSE_STATE/podman.sock" http://d/_ping >/dev/null 2>&1; then
    log "compose: running (pid $p), podman API answering on unix://$COMPOSE_STATE/podman.sock"
  else
    log "compose: stopped"; return 1
  fi
}

compose_version() {
  local c="not built yet"
  if [ -x "$COMPOSE_BIN" ]; then c="$("$COMPOSE_BIN" version --short 2>/dev/null)"; fi
  echo "podman $(podman --version 2>/dev/null | awk '{print $3}' || echo 'not installed'), runc $(runc --version 2>/dev/null | awk 'NR==1{print $3}'), docker-compose $c (built from $COMPOSE_MODULE@v$COMPOSE_VERSION), base debian $COMPOSE_DEBIAN_SUITE minbase"
}
