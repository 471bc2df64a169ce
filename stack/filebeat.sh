# shellcheck shell=bash
# Filebeat for the local stack. Sourced by stack/stack.sh (needs lib.sh).
#
# Built from source fetched through the Go module proxy (github.com/elastic/beats/v7). The
# module's go.mod has replace directives, so `go install .../filebeat@v` refuses it; we build
# inside a writable copy of the downloaded module instead, where those replaces apply.
#
# Version: v7.17.x is the newest line the proxy serves here. 8.x beats exist only as
# pseudo-versions of the /v7 module path (branch names such as @8.19), which this proxy answers
# with 403 "This module version is not available." Filebeat 7.17 is supported by Elastic
# against Elasticsearch 8.x (7.17 is the bridge release), and everything our config uses
# (filestream, ndjson parser with document_id/expand_keys) exists in 7.17.
FILEBEAT_VERSION="${FILEBEAT_VERSION:-7.17.29}"
FILEBEAT_MODULE="github.com/elastic/beats/v7"
# Patched before the build (stack/filebeat-rename-race.patch): 7.17's filestream could leave a
# rotated file's last lines unread in two races with a rename (see the patch and
# docs/log-shipping.md). The binary's cache dir is keyed by the patch's hash, so an unpatched
# build in the shared cache stays valid for whoever still uses it.
FILEBEAT_PATCH="$PROJECT_ROOT/stack/filebeat-rename-race.patch"
FILEBEAT_PATCH_ID="$(sha256sum "$FILEBEAT_PATCH" | cut -c1-12)"
FILEBEAT_BIN="$STACK_CACHE_DIR/filebeat-$FILEBEAT_VERSION-$FILEBEAT_PATCH_ID/filebeat"
FILEBEAT_CONFIG="${FILEBEAT_CONFIG:-$PROJECT_ROOT/filebeat/filebeat.yml}"

filebeat_install() {
  if [ -x "$FILEBEAT_BIN" ]; then log "filebeat: $FILEBEAT_VERSION cached at $FILEBEAT_BIN"; return 0; fi
  command -v go >/dev/null || die "filebeat: go is needed to build Filebeat"
  local src t0
  t0=$(date +%s)
  src="$STACK_CACHE_DIR/filebeat-src-$FILEBEAT_VERSION-$FILEBEAT_PATCH_ID"
  go_module_copy filebeat "$FILEBEAT_MODULE" "$FILEBEAT_VERSION" "$src"
  (cd "$src" && patch -p1 --forward --silent < "$FILEBEAT_PATCH") || die "filebeat: $FILEBEAT_PATCH does not apply to $FILEBEAT_MODULE@v$FILEBEAT_VERSION"
  log "filebeat: building (first build downloads the dependencies and compiles for several minutes)"
  # Static (CGO off): the only cgo user (journald input) is not needed here. No time limit.
  go_build_module filebeat "$src" "$FILEBEAT_BIN" "" -ldflags "-s -w" ./filebeat
  log "filebeat: built $FILEBEAT_BIN in $(( $(date +%s) - t0 ))s"
}

filebeat_start() {
  local p
  if p="$(read_pid filebeat)"; then log "filebeat: already running (pid $p)"; return 0; fi
  [ -x "$FILEBEAT_BIN" ] || die "filebeat: not installed (stack/stack.sh install filebeat)"
  local state="$STACK_RUN_DIR/filebeat"
  local log_dir="${RECO_LOG_DIR:-$PROJECT_ROOT/logs}"
  mkdir -p "$state/data" "$state/logs" "$log_dir"
  "$FILEBEAT_BIN" test config -c "$FILEBEAT_CONFIG" --strict.perms=false \
      --path.home "$state" --path.data "$state/data" --path.logs "$state/logs" >/dev/null \
    || die "filebeat: $FILEBEAT_CONFIG is invalid"
  log "filebeat: starting $FILEBEAT_VERSION, reading $log_dir, shipping to ${ELASTICSEARCH_HOSTS:-http://127.0.0.1:${ES_PORT:-9200}}"
  # setsid: own process group, so stop_pid's group kill reaches it and nothing else.
  # --strict.perms=false: the config is owned by whoever checked out the repo, not by root.
  RECO_LOG_DIR="$log_dir" \
  ELASTICSEARCH_HOSTS="${ELASTICSEARCH_HOSTS:-http://127.0.0.1:${ES_PORT:-9200}}" \
  ELASTICSEARCH_USERNAME="${ELASTICSEARCH_USERNAME:-}" \
  ELASTICSEARCH_PASSWORD="${ELASTICSEARCH_PASSWORD:-}" \
  FILEBEAT_INDEX="${FILEBEAT_INDEX:-reco-logs}" \
    setsid "$FILEBEAT_BIN" -c "$FILEBEAT_CONFIG" --strict.perms=false \
      --path.home "$state" --path.data "$state/data" --path.logs "$state/logs" \
      > "$STACK_RUN_DIR/filebeat.out" 2>&1 < /dev/null &
  echo $! > "$STACK_RUN_DIR/filebeat.pid"
  # Ready = its stats endpoint (http.* in filebeat.yml) answers; it only listens once the
  # beat is configured and its inputs are starting. Fail fast if the process dies meanwhile.
  local stats="http://${FILEBEAT_HTTP_HOST:-127.0.0.1}:${FILEBEAT_HTTP_PORT:-5066}/" i
  for ((i=0; i<${FILEBEAT_START_TIMEOUT:-60}*5; i++)); do
    if ! read_pid filebeat >/dev/null; then
      cat "$STACK_RUN_DIR/filebeat.out" >&2
      tail -n 30 "$state/logs/filebeat" >&2 2>/dev/null || true
      die "filebeat: exited during start"
    fi
    http_probe -fsS -o /dev/null "$stats" 2>/dev/null && break
    sleep 0.2
  done
  http_probe -fsS -o /dev/null "$stats" 2>/dev/null || { filebeat_stop; die "filebeat: stats endpoint $stats not answering"; }
  log "filebeat: up (pid $(cat "$STACK_RUN_DIR/filebeat.pid"))"
}

filebeat_stop() { stop_pid filebeat 30; }

filebeat_reset() { rm -rf "$STACK_RUN_DIR/filebeat"; }

filebeat_status() {
  local p
  if p="$(read_pid filebeat)"; then log "filebeat: running pid $p"; else log "filebeat: stopped"; return 1; fi
}

filebeat_version() {
  if [ -x "$FILEBEAT_BIN" ]; then
    echo "filebeat $FILEBEAT_VERSION (built from $FILEBEAT_MODULE@v$FILEBEAT_VERSION + stack/filebeat-rename-race.patch $FILEBEAT_PATCH_ID: $("$FILEBEAT_BIN" version 2>/dev/null | head -n1))"
  else
    echo "filebeat $FILEBEAT_VERSION (not built yet)"
  fi
}
