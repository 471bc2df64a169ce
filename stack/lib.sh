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

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

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
