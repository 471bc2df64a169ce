# shellcheck shell=bash
# Jaeger v2 for stack/stack.sh: built from the Go module proxy (module
# github.com/jaegertracing/jaeger, program cmd/jaeger), run with jaeger/config.yaml
# (in-memory storage, OTLP receiver, query API + UI port). Sourced after lib.sh; defines
# jaeger_install, jaeger_start, jaeger_stop, jaeger_reset, jaeger_status, jaeger_version.
#
# Versions: Jaeger tags every release twice, v1.x (the Go-module tag) and v2.x (the v2
# binary); module tag v1.76.0 is the Jaeger v2.13.0 release (CHANGELOG "v1.76.0 / v2.13.0").
# The module's go.mod has a replace directive (sarama), so `go install …/cmd/jaeger@v1.76.0`
# refuses it; like filebeat.sh we build inside a writable copy of the downloaded module.
#
# UI: the module zip has no Jaeger UI assets (cmd/query/app/ui/actual holds only .gitignore;
# the UI is a git submodule built with npm by the release pipeline), so the binary serves a
# placeholder page at / . The HTTP query API (/api/traces/{id}, /api/services, …) is complete.
#
# Environment (all optional):
#   JAEGER_VERSION            module tag (default 1.76.0)
#   JAEGER_CONFIG             config file (default jaeger/config.yaml)
#   JAEGER_HOST               listen address (default 127.0.0.1)
#   JAEGER_OTLP_GRPC_PORT     OTLP/gRPC receiver (default 14317)
#   JAEGER_OTLP_HTTP_PORT     OTLP/HTTP receiver (default 14318)
#   JAEGER_QUERY_PORT         query API + UI, HTTP (default 16686)
#   JAEGER_QUERY_GRPC_PORT    query API, gRPC (default 16685)
#   JAEGER_METRICS_PORT       Jaeger's own Prometheus metrics (default 18888)
#   JAEGER_MAX_TRACES         in-memory store size (default 100000)
#   JAEGER_BUILD_TIMEOUT      seconds before the build is abandoned (default 2400)

JAEGER_VERSION="${JAEGER_VERSION:-1.76.0}"
JAEGER_MODULE="github.com/jaegertracing/jaeger"
JAEGER_BIN="$STACK_CACHE_DIR/jaeger-$JAEGER_VERSION/jaeger"
JAEGER_CONFIG="${JAEGER_CONFIG:-$PROJECT_ROOT/jaeger/config.yaml}"

_jaeger_env() {
  export JAEGER_HOST="${JAEGER_HOST:-127.0.0.1}"
  export JAEGER_OTLP_GRPC_PORT="${JAEGER_OTLP_GRPC_PORT:-14317}"
  export JAEGER_OTLP_HTTP_PORT="${JAEGER_OTLP_HTTP_PORT:-14318}"
  export JAEGER_QUERY_PORT="${JAEGER_QUERY_PORT:-16686}"
  export JAEGER_QUERY_GRPC_PORT="${JAEGER_QUERY_GRPC_PORT:-16685}"
  export JAEGER_METRICS_PORT="${JAEGER_METRICS_PORT:-18888}"
  export JAEGER_MAX_TRACES="${JAEGER_MAX_TRACES:-100000}"
}

jaeger_install() {
  if [ -x "$JAEGER_BIN" ]; then log "jaeger: $JAEGER_VERSION cached at $JAEGER_BIN"; return 0; fi
  command -v go >/dev/null || die "jaeger: go is needed to build Jaeger"
  local out dir src t0 v2
  t0=$(date +%s)
  log "jaeger: downloading $JAEGER_MODULE@v$JAEGER_VERSION through $(go env GOPROXY)"
  out="$(cd "$STACK_CACHE_DIR" && GOFLAGS=-mod=mod go mod download -json "$JAEGER_MODULE@v$JAEGER_VERSION" 2>&1)" \
    || die "jaeger: go mod download failed: $out"
  dir="$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then die "jaeger: no module dir in: $out"; fi
  # The v2 release number that goes with this module tag, for `jaeger version`.
  v2="$(sed -n "s/^v$JAEGER_VERSION \/ \(v2\.[0-9.]*\) .*/\1/p" "$dir/CHANGELOG.md" | head -n1)"
  src="$STACK_CACHE_DIR/jaeger-src-$JAEGER_VERSION"
  rm -rf "$src"; cp -r "$dir" "$src"; chmod -R u+w "$src"
  mkdir -p "$(dirname "$JAEGER_BIN")"
  log "jaeger: building cmd/jaeger (v2 ${v2:-unknown}); the first build downloads the dependencies and compiles for many minutes"
  # CGO off: a static binary. GOTOOLCHAIN=local: the installed Go, not the go.mod's toolchain.
  # -ldflags -X: the version fields Jaeger's Makefile sets (internal/version).
  if ! (cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod timeout "${JAEGER_BUILD_TIMEOUT:-2400}" \
        go build -trimpath -o "$JAEGER_BIN.tmp" \
          -ldflags "-s -w -X $JAEGER_MODULE/internal/version.latestVersion=${v2:-v$JAEGER_VERSION} -X $JAEGER_MODULE/internal/version.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
          ./cmd/jaeger); then
    die "jaeger: go build failed in $src (kept for inspection)"
  fi
  mv "$JAEGER_BIN.tmp" "$JAEGER_BIN"
  rm -rf "$src"   # only the binary is cached; Go keeps its module and build caches itself
  log "jaeger: built $JAEGER_BIN in $(( $(date +%s) - t0 ))s"
}

jaeger_start() {
  local p logf health
  if p="$(read_pid jaeger)"; then log "jaeger: already running (pid $p)"; return 0; fi
  [ -x "$JAEGER_BIN" ] || die "jaeger: not built, run: stack/stack.sh install jaeger"
  _jaeger_env
  logf="$STACK_RUN_DIR/jaeger.log"
  # setsid: own process group, so stop_pid's group kill reaches only Jaeger.
  setsid "$JAEGER_BIN" --config "$JAEGER_CONFIG" > "$logf" 2>&1 < /dev/null &
  echo $! > "$STACK_RUN_DIR/jaeger.pid"
  # Ready = the query API answers (it is the last extension to start listening).
  health="http://$JAEGER_HOST:$JAEGER_QUERY_PORT/api/services"
  if ! wait_http "$health" "${JAEGER_START_TIMEOUT:-60}"; then
    tail -n 30 "$logf" >&2
    stop_pid jaeger 5
    die "jaeger: query API not answering at $health (log: $logf)"
  fi
  log "jaeger: up (pid $(cat "$STACK_RUN_DIR/jaeger.pid")), OTLP gRPC $JAEGER_HOST:$JAEGER_OTLP_GRPC_PORT, OTLP/HTTP $JAEGER_HOST:$JAEGER_OTLP_HTTP_PORT, query http://$JAEGER_HOST:$JAEGER_QUERY_PORT"
}

jaeger_stop() { stop_pid jaeger 20; }

# In-memory storage: nothing on disk to wipe but the log.
jaeger_reset() { rm -f "$STACK_RUN_DIR/jaeger.log"; }

jaeger_status() {
  local p
  _jaeger_env
  if p="$(read_pid jaeger)"; then
    if http_probe -fsS -o /dev/null "http://$JAEGER_HOST:$JAEGER_QUERY_PORT/api/services" 2>/dev/null; then
      log "jaeger: running (pid $p), query API answering"
    else
      log "jaeger: running (pid $p), query API NOT answering"; return 1
    fi
  else
    log "jaeger: stopped"; return 1
  fi
}

jaeger_version() {
  if [ -x "$JAEGER_BIN" ]; then
    echo "jaeger $("$JAEGER_BIN" version 2>/dev/null | sed -n 's/.*"gitVersion":"\([^"]*\)".*/\1/p' | head -n1) (built from $JAEGER_MODULE@v$JAEGER_VERSION)"
  else
    echo "jaeger (module v$JAEGER_VERSION, not built yet)"
  fi
}
