# shellcheck shell=bash
# Shared helpers for stack/*.sh. Sourced, not executed.
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_CACHE_DIR="${STACK_CACHE_DIR:-$PROJECT_ROOT/.cache/stack}"
# Run state (pid files, data dirs, logs of the parts) lives apart from the download cache so
# that `down` + `up` starts from clean data while reusing the downloads.
STACK_RUN_DIR="${STACK_RUN_DIR:-$PROJECT_ROOT/.cache/run}"
mkdir -p "$STACK_CACHE_DIR" "$STACK_RUN_DIR"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# Every HTTP call of the stack scripts goes through one of these two, so none can hang:
#   http_probe URL...     a local health/status probe: 2 s to connect, 10 s in all
#   http_download ARGS... a download from a registry: 30 s to connect, STACK_DOWNLOAD_TIMEOUT
#                         (default 1800 s) in all, 3 retries
http_probe() { curl --connect-timeout 2 --max-time "${STACK_PROBE_TIMEOUT:-10}" "$@"; }
http_download() { curl --connect-timeout 30 --max-time "${STACK_DOWNLOAD_TIMEOUT:-1800}" --retry 3 "$@"; }

# require_root WHAT: a clear stop, instead of a failing runuser/chown/useradd further down.
require_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 needs root (run as root, e.g. sudo -E bash stack/stack.sh ...; see stack/README.md)"
}

# A zombie counts as dead: where PID 1 does not reap orphans (some VM/container inits), a
# daemonized process killed with -9 stays a zombie that `kill -0` still finds.
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }

# read_pid NAME -> prints the pid from $STACK_RUN_DIR/NAME.pid if that process is alive
read_pid() {
  local f="$STACK_RUN_DIR/$1.pid" p
  [ -f "$f" ] || return 1
  p="$(cat "$f")"
  pid_alive "$p" && echo "$p"
}

# stop_pid NAME [grace_seconds]: SIGTERM the process group, wait, then SIGKILL.
stop_pid() {
  local name="$1" grace="${2:-20}" p i
  p="$(read_pid "$name")" || { rm -f "$STACK_RUN_DIR/$name.pid"; log "$name: not running"; return 0; }
  log "$name: stopping pid $p"
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  for ((i=0; i<grace*10; i++)); do pid_alive "$p" || break; sleep 0.1; done
  if pid_alive "$p"; then log "$name: still alive after ${grace}s, SIGKILL"; kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; fi
  rm -f "$STACK_RUN_DIR/$name.pid"
}

# wait_http URL SECONDS: poll until the URL answers 2xx.
wait_http() {
  local url="$1" secs="${2:-120}" i
  for ((i=0; i<secs*2; i++)); do
    if http_probe -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  return 1
}

# start_background NAME CMD...: runs CMD in its own process group (setsid, so stop_pid's group
# kill reaches it and its children, nothing else), stdin from /dev/null, stdout and stderr
# appended to $STACK_RUN_DIR/NAME.log; its pid goes to $STACK_RUN_DIR/NAME.pid.
start_background() {
  local name="$1"; shift
  setsid "$@" >> "$STACK_RUN_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$STACK_RUN_DIR/$name.pid"
}

# wait_healthy LABEL NAME URL SECONDS [PROBLEM]: after start_background NAME, wait until URL
# answers 2xx; if it does not within SECONDS, show the tail of NAME's log, stop NAME and die
# with "LABEL: PROBLEM at URL (log: …)" (PROBLEM default: not healthy).
wait_healthy() {
  local label="$1" name="$2" url="$3" secs="$4" problem="${5:-not healthy}" logf
  logf="$STACK_RUN_DIR/$name.log"
  if ! wait_http "$url" "$secs"; then
    tail -n 30 "$logf" >&2
    stop_pid "$name" 5
    die "$label: $problem at $url (log: $logf)"
  fi
}

# report_status LABEL NAME URL [STATE [BAD_STATE]]: the `status` of a server started with
# start_background NAME: "running (pid P), STATE" when URL answers 2xx (default: healthy),
# else "running (pid P), BAD_STATE" (default: NOT healthy) or "stopped", and status 1.
report_status() {
  local label="$1" name="$2" url="$3" state="${4:-healthy}" bad="${5:-NOT healthy}" p
  if p="$(read_pid "$name")"; then
    if http_probe -fsS -o /dev/null "$url" 2>/dev/null; then
      log "$label: running (pid $p), $state"
    else
      log "$label: running (pid $p), $bad"; return 1
    fi
  else
    log "$label: stopped"; return 1
  fi
}

# go_module_copy LABEL MODULE VERSION SRC: downloads MODULE@vVERSION through the Go module
# proxy and puts a writable copy of it in SRC. The module cache is read-only; in the copy
# the module's own go.mod (with its replace directives, which make `go install …@v` refuse
# it) is the main module.
go_module_copy() {
  local label="$1" module="$2" version="$3" src="$4" out dir
  log "$label: downloading $module@v$version through $(go env GOPROXY)"
  out="$(cd "$STACK_CACHE_DIR" && GOFLAGS=-mod=mod go mod download -json "$module@v$version" 2>&1)" \
    || die "$label: go mod download failed: $out"
  dir="$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then die "$label: no module dir in: $out"; fi
  rm -rf "$src"; cp -r "$dir" "$src"; chmod -R u+w "$src"
}

# go_build_module LABEL SRC BIN TIMEOUT GO_BUILD_ARGS...: a static `go build -trimpath` in
# SRC (from go_module_copy) to BIN, with the installed Go (GOTOOLCHAIN=local, not the go.mod's
# toolchain), abandoned after TIMEOUT seconds (empty: no limit). On success only BIN is kept
# (Go keeps its module and build caches itself); on failure SRC stays for inspection.
go_build_module() {
  local label="$1" src="$2" bin="$3" limit="$4"
  local -a timeout_cmd=()
  shift 4
  [ -z "$limit" ] || timeout_cmd=(timeout "$limit")
  mkdir -p "$(dirname "$bin")"
  if ! (cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod "${timeout_cmd[@]}" \
        go build -trimpath -o "$bin.tmp" "$@"); then
    die "$label: go build failed in $src (kept for inspection)"
  fi
  mv "$bin.tmp" "$bin"
  rm -rf "$src"
}

# venv_install LABEL VENV PYTHON PKG==VERSION: a fresh virtualenv VENV made by PYTHON, with
# PKG==VERSION from PyPI; pip's output goes to VENV/install.log (its tail shown on failure).
venv_install() {
  local label="$1" venv="$2" py="$3" req="$4"
  rm -rf "$venv"
  log "$label: installing $req from PyPI into $venv"
  "$py" -m venv "$venv" || die "$label: $py -m venv $venv failed (Debian: apt-get install python3-venv)"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$req" > "$venv/install.log" 2>&1; then
    tail -n 30 "$venv/install.log" >&2
    die "$label: pip install $req failed (log: $venv/install.log)"
  fi
}
