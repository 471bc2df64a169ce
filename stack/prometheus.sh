# shellcheck shell=bash
# Prometheus for stack/stack.sh: Debian's package (`apt-get install prometheus`: the
# prometheus server and promtool in /usr/bin), run directly as a background process (no
# systemd) with a config rendered from prometheus/prometheus.local.yml and the alert rules in
# prometheus/rules. Sourced after lib.sh; defines prometheus_install, prometheus_start,
# prometheus_stop, prometheus_status, prometheus_version, prometheus_reset.
#
# Environment (all optional):
#   PROMETHEUS_HOST                 listen address (default 127.0.0.1)
#   PROMETHEUS_PORT                 web/API port (default 9090)
#   PROMETHEUS_TARGETS              comma-separated host:port list of recoscope metrics
#                                   listeners to scrape (default 127.0.0.1:9464)
#   PROMETHEUS_SCRAPE_INTERVAL      default 15s (the e2e tests use 1s)
#   PROMETHEUS_EVALUATION_INTERVAL  default 15s
#   PROMETHEUS_RULES_DIR            alert/recording rules (default prometheus/rules)
#   PROMETHEUS_NAME                 pid/log/data name in $STACK_RUN_DIR (default prometheus),
#                                   so a test can run a second Prometheus beside the stack's
#   PROMETHEUS_BIN                  the server binary (default: prometheus on PATH)

_prometheus_name() { echo "${PROMETHEUS_NAME:-prometheus}"; }
_prometheus_bin() { echo "${PROMETHEUS_BIN:-$(command -v prometheus || echo /usr/bin/prometheus)}"; }

prometheus_version() {
  local bin
  bin="$(_prometheus_bin)"
  [ -x "$bin" ] || die "prometheus: not installed, run: stack/stack.sh install prometheus"
  "$bin" --version 2>&1 | head -n1
}

# Debian's package; its postinst only enables a systemd unit, which without systemd never runs.
prometheus_install() {
  local i
  if [ -x "$(_prometheus_bin)" ] && command -v promtool >/dev/null 2>&1; then
    log "prometheus: $(prometheus_version) already installed"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "prometheus: not installed and no apt-get to install it (Debian package 'prometheus')"
  log "prometheus: installing the Debian package"
  # Another apt-get may hold the dpkg lock for a while: retry.
  for ((i=0; i<10; i++)); do
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; then
      log "prometheus: installed $(prometheus_version)"
      return 0
    fi
    log "prometheus: apt-get failed (dpkg lock?), retrying in 15s"
    sleep 15
  done
  die "prometheus: apt-get install prometheus failed"
}

prometheus_reset() { rm -rf "${STACK_RUN_DIR:?}/$(_prometheus_name)"; }

# The rendered config: targets quoted as a YAML flow list.
_prometheus_render() {
  local out="$1" targets="" t
  IFS=',' read -r -a _targets <<< "${PROMETHEUS_TARGETS:-127.0.0.1:9464}"
  for t in "${_targets[@]}"; do targets+="${targets:+, }'$t'"; done
  sed -e "s#@SCRAPE_INTERVAL@#${PROMETHEUS_SCRAPE_INTERVAL:-15s}#" \
      -e "s#@SCRAPE_TIMEOUT@#${PROMETHEUS_SCRAPE_TIMEOUT:-${PROMETHEUS_SCRAPE_INTERVAL:-10s}}#" \
      -e "s#@EVALUATION_INTERVAL@#${PROMETHEUS_EVALUATION_INTERVAL:-15s}#" \
      -e "s#@RULES_DIR@#${PROMETHEUS_RULES_DIR:-$PROJECT_ROOT/prometheus/rules}#" \
      -e "s#@TARGETS@#$targets#" \
      "$PROJECT_ROOT/prometheus/prometheus.local.yml" > "$out"
}

prometheus_start() {
  local name bin dir config logf p url
  name="$(_prometheus_name)"
  bin="$(_prometheus_bin)"
  [ -x "$bin" ] || die "prometheus: not installed, run: stack/stack.sh install prometheus"
  if p="$(read_pid "$name")"; then log "prometheus: already running (pid $p)"; return 0; fi
  dir="$STACK_RUN_DIR/$name"
  mkdir -p "$dir/data"
  config="$dir/prometheus.yml"
  _prometheus_render "$config"
  logf="$STACK_RUN_DIR/$name.log"
  if command -v promtool >/dev/null 2>&1; then
    promtool check config "$config" > "$logf" 2>&1 || { cat "$logf" >&2; die "prometheus: invalid config $config"; }
  fi
  url="http://${PROMETHEUS_HOST:-127.0.0.1}:${PROMETHEUS_PORT:-9090}"
  # setsid: own process group, so stop_pid's group kill reaches only Prometheus.
  setsid "$bin" \
    --config.file="$config" \
    --storage.tsdb.path="$dir/data" \
    --web.listen-address="${PROMETHEUS_HOST:-127.0.0.1}:${PROMETHEUS_PORT:-9090}" \
    --web.enable-lifecycle \
    --enable-feature=exemplar-storage \
    >> "$logf" 2>&1 < /dev/null &
  echo $! > "$STACK_RUN_DIR/$name.pid"
  if ! wait_http "$url/-/ready" "${PROMETHEUS_START_TIMEOUT:-60}"; then
    tail -n 30 "$logf" >&2
    stop_pid "$name" 5
    die "prometheus: not ready at $url (log: $logf)"
  fi
  log "prometheus: up (pid $(cat "$STACK_RUN_DIR/$name.pid")), $url, scraping ${PROMETHEUS_TARGETS:-127.0.0.1:9464}"
}

prometheus_stop() { stop_pid "$(_prometheus_name)" 20; }

prometheus_status() {
  local name p
  name="$(_prometheus_name)"
  if p="$(read_pid "$name")"; then
    if http_probe -fsS -o /dev/null "http://${PROMETHEUS_HOST:-127.0.0.1}:${PROMETHEUS_PORT:-9090}/-/ready" 2>/dev/null; then
      log "prometheus: running (pid $p), ready"
    else
      log "prometheus: running (pid $p), NOT ready"; return 1
    fi
  else
    log "prometheus: stopped"; return 1
  fi
}
