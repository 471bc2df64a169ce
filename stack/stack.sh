#!/usr/bin/env bash
# Provision and run the real observability parts on 127.0.0.1 without Docker:
# Elasticsearch (Maven Central integ-test zip), Filebeat (built from the Go module proxy)
# and an OpenTelemetry Collector (built with the Collector Builder).
#
#   stack/stack.sh install [es|filebeat|otelcol ...]   download/build into the cache
#   stack/stack.sh up      [es|filebeat|otelcol ...]   install if needed, wipe run data, start, wait healthy
#   stack/stack.sh down    [es|filebeat|otelcol ...]   stop (SIGTERM, then SIGKILL), no orphans
#   stack/stack.sh start   [es|filebeat|otelcol ...]   start on the EXISTING run data (after `stop`)
#   stack/stack.sh stop    [es|filebeat|otelcol ...]   stop, keeping the run data (e.g. an ES outage)
#   stack/stack.sh status  [es|filebeat|otelcol ...]
#   stack/stack.sh versions                             print the versions in use
#
# mlflow (an MLflow tracking server from PyPI in a virtualenv, sqlite backend; for
# `npm run evaluate`) runs only when named: `stack/stack.sh up mlflow`.
# Components default to all three, started in dependency order and stopped in reverse.
# `up` starts from fresh data (ES indices, Filebeat registry) unless STACK_KEEP_DATA=1;
# `start`/`stop` never touch the data, so documents survive an outage of Elasticsearch.
# Cache: $STACK_CACHE_DIR (default .cache/stack), ignored by git; CI points it outside the
# clone so second runs reuse the downloads and builds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

command="${1:-status}"
shift || true
components=("$@")
if [ ${#components[@]} -eq 0 ]; then components=(es otelcol filebeat); fi
# Calls <component>_reset when the component defines one (a component without run data need not).
reset() { if declare -F "${1}_reset" >/dev/null; then "${1}_reset"; fi; }

for c in "${components[@]}"; do
  case "$c" in
    es|filebeat|otelcol|mlflow) source "$here/$c.sh" ;;
    *) die "unknown component '$c' (expected es, filebeat, otelcol or mlflow)" ;;
  esac
done

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
  down|stop) for c in $(reverse); do "${c}_stop"; done ;;
  status)  for c in "${components[@]}"; do "${c}_status" || true; done ;;
  versions) for c in "${components[@]}"; do "${c}_version"; done ;;
  *) die "unknown command '$command' (expected install, up, down, start, stop, status or versions)" ;;
esac
