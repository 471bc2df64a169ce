#!/usr/bin/env bash
# Provision and run the real observability parts on 127.0.0.1 without Docker:
# Elasticsearch (Maven Central integ-test zip), Filebeat (built from the Go module proxy)
# and an OpenTelemetry Collector (built with the Collector Builder).
#
#   stack/stack.sh install [es|filebeat|otelcol ...]   download/build into the cache
#   stack/stack.sh up      [es|filebeat|otelcol ...]   install if needed, wipe run data, start, wait healthy
#   stack/stack.sh down    [es|filebeat|otelcol ...]   stop (SIGTERM, then SIGKILL), no orphans; remove run data
#   stack/stack.sh start   [es|filebeat|otelcol ...]   start on the EXISTING run data (after `stop`)
#   stack/stack.sh stop    [es|filebeat|otelcol ...]   stop, keeping the run data (e.g. an ES outage)
#   stack/stack.sh status  [es|filebeat|otelcol ...]
#   stack/stack.sh versions                             print the versions in use
#   stack/stack.sh install grpcurl                      the gRPC client of the gRPC e2e (Go module proxy; install only)
#
# Components default to DEFAULT_COMPONENTS, started in that order and stopped in reverse.
# `up` starts from fresh data (ES indices, Filebeat registry) and `down` removes it, unless
# STACK_KEEP_DATA=1; `start`/`stop` never touch the data, so documents survive an outage of
# Elasticsearch. Cache: $STACK_CACHE_DIR (default .cache/stack), ignored by git; CI points it
# outside the clone so second runs reuse the downloads and builds. More: stack/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

# The components, one line each: `<name>) source <name>.sh`, which defines <name>_install,
# _start, _stop, _status, _version and optionally _reset (see stack/README.md).
# (shellcheck checks each stack/*.sh on its own: CI runs `shellcheck -x stack/*.sh .ci/run`.)
load_component() {
  # shellcheck disable=SC1090,SC1091
  case "$1" in
    es) source "$here/es.sh" ;;                   # Elasticsearch (Maven Central integ-test zip)
    otelcol) source "$here/otelcol.sh" ;;         # OpenTelemetry Collector (built with ocb)
    filebeat) source "$here/filebeat.sh" ;;       # Filebeat (built from the Go module proxy)
    mlflow) source "$here/mlflow.sh" ;;           # MLflow tracking server (PyPI, virtualenv; only when named)
    jaeger) source "$here/jaeger.sh" ;;           # Jaeger v2 (built from the Go module proxy; only when named)
    prometheus) source "$here/prometheus.sh" ;;   # Prometheus + promtool (Debian package; only when named)
    compose) source "$here/compose.sh" ;;         # podman + Docker Compose v2 + debootstrap base (only when named)
    grpcurl) source "$here/grpcurl.sh" ;;         # gRPC client (Go module proxy; install only, never a default)
    *) die "unknown component '$1' (known: $(sed -n 's/^    \([a-z0-9_-]*\)) source .*/\1/p' "$here/stack.sh" | xargs))" ;;
  esac
}
# What a bare `stack.sh up|down|…` runs, in start order.
DEFAULT_COMPONENTS=(es otelcol filebeat)

command="${1:-status}"
shift || true
components=("$@")
if [ ${#components[@]} -eq 0 ]; then components=("${DEFAULT_COMPONENTS[@]}"); fi
# Calls <component>_reset when the component defines one (a component without run data need not).
reset() { if declare -F "${1}_reset" >/dev/null; then "${1}_reset"; fi; }

for c in "${components[@]}"; do load_component "$c"; done

reverse() { local i; for ((i=${#components[@]}-1; i>=0; i--)); do echo "${components[$i]}"; done; }

case "$command" in
  install) for c in "${components[@]}"; do "${c}_install"; done ;;
  up)
    for c in "${components[@]}"; do
      "${c}_install"
      if [ "${STACK_KEEP_DATA:-0}" != 1 ]; then "${c}_stop"; reset "$c"; fi
      "${c}_start"
    done ;;
  start)   for c in "${components[@]}"; do "${c}_start"; done ;;
  down)
    for c in $(reverse); do
      "${c}_stop"
      if [ "${STACK_KEEP_DATA:-0}" != 1 ]; then reset "$c"; fi
    done ;;
  stop)    for c in $(reverse); do "${c}_stop"; done ;;
  status)  for c in "${components[@]}"; do "${c}_status" || true; done ;;
  versions) for c in "${components[@]}"; do "${c}_version"; done ;;
  *)
    # A wrong command line: the usage (this file's header) and exit 2, like the node CLIs.
    printf "[stack] error: unknown command '%s'\n\n" "$command" >&2
    sed -n 's/^#   \(stack\/stack.sh .*\)/usage: \1/p' "$here/stack.sh" >&2
    exit 2 ;;
esac
