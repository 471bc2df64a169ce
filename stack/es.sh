# shellcheck shell=bash
# Elasticsearch for the local stack. Sourced by stack/stack.sh (needs lib.sh).
#
# Distribution: org.elasticsearch.distribution.integ-test-zip:elasticsearch:<v>:zip from Maven
# Central. It is the real ES server with only the modules apm, transport-netty4, x-pack-core and
# x-pack-security (no ILM, no data streams, no ingest pipelines' extra processors), and it comes
# without a bundled JDK, so it runs on the machine's Java 17. 8.x runs on Java 17.
#
# Elasticsearch refuses to run as root, so it runs as the system user $ES_USER, which takes
# root (useradd, chown, runuser): started by anyone else, es says so and stops. Its state
# (config, data, logs, pid, and the ES home when the cache is out of the user's reach) lives in
# $STACK_RUN_DIR/es, which must be reachable by that user; when STACK_RUN_DIR sits under a
# directory the user cannot traverse (e.g. /root in CI), the state moves to
# /var/tmp/recoscope-es/<hash> and a symlink from $STACK_RUN_DIR/es points at it. `down`
# (es_reset) removes it, and /var/tmp/recoscope-es once empty.
# 8.7.1, not the newest 8.19.x: from 8.8 on, the `GET /` handler (RestMainAction) lives in the
# rest-root module, which the integ-test-zip does not ship (checked: 8.7.1 has it in the server
# jar, 8.9.0/8.10.2/8.11.3/8.19.21 answer `GET /` with 405). Filebeat's Elasticsearch output
# pings `GET /` for the cluster version before every connection and never publishes without
# it, so 8.7.1 is the newest version this distribution can serve to Filebeat.
ES_VERSION="${ES_VERSION:-8.7.1}"
ES_PORT="${ES_PORT:-9200}"
ES_HEAP="${ES_HEAP:-1g}"
ES_USER="${ES_USER:-recoscope-es}"
ES_DIST="$STACK_CACHE_DIR/elasticsearch-$ES_VERSION"
ES_URL="http://127.0.0.1:$ES_PORT"
ES_MAVEN_BASE="${ES_MAVEN_BASE:-https://repo1.maven.org/maven2}"

ES_VAR_TMP=/var/tmp/recoscope-es

as_es() { runuser -u "$ES_USER" -- "$@"; }

es_ensure_user() {
  require_root "es: running Elasticsearch as user $ES_USER (useradd, chown, runuser)"
  id "$ES_USER" >/dev/null 2>&1 && return 0
  log "es: creating system user $ES_USER"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER"
}

es_java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  local java
  java="$(command -v java)" || die "es: java not found (ES $ES_VERSION needs Java 17+; apt-get install openjdk-17-jre-headless)"
  dirname "$(dirname "$(readlink -f "$java")")"
}

es_install() {
  if [ -x "$ES_DIST/bin/elasticsearch" ]; then log "es: $ES_VERSION cached in $ES_DIST"; return 0; fi
  command -v curl >/dev/null || die "es: curl is needed"
  command -v unzip >/dev/null || die "es: unzip is needed"
  local url="$ES_MAVEN_BASE/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  local zip="$STACK_CACHE_DIR/elasticsearch-$ES_VERSION.zip" want got tmp
  log "es: downloading $url"
  http_download -fsSL -o "$zip.part" "$url" || die "es: download failed: $url"
  want="$(http_download -fsSL "$url.sha1" | cut -c1-40)" || die "es: cannot fetch $url.sha1"
  got="$(sha1sum "$zip.part" | cut -c1-40)"
  [ "$want" = "$got" ] || { rm -f "$zip.part"; die "es: sha1 mismatch for $url (want $want, got $got)"; }
  mv "$zip.part" "$zip"
  tmp="$(mktemp -d "$STACK_CACHE_DIR/es-unzip.XXXXXX")"
  unzip -q "$zip" -d "$tmp"
  rm -rf "$ES_DIST"
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_DIST"
  rm -rf "$tmp" "$zip"   # the unpacked tree is the cache; the zip would only double the disk use
  chmod -R a+rX "$ES_DIST"
  log "es: installed $ES_VERSION in $ES_DIST (sha1 $got verified)"
}

# Where ES keeps config/data/logs. Fixed per STACK_RUN_DIR so that stop + start finds its data.
es_state_dir() {
  local d="$STACK_RUN_DIR/es"
  if [ -L "$d" ]; then readlink -f "$d"; return; fi
  mkdir -p "$d"
  chown "$ES_USER:" "$d"
  if as_es test -w "$d"; then echo "$d"; return; fi
  # The user cannot reach STACK_RUN_DIR (a parent is mode 700): keep the state elsewhere.
  rmdir "$d" 2>/dev/null || true
  local alt
  alt="$ES_VAR_TMP/$(printf '%s' "$STACK_RUN_DIR" | sha1sum | cut -c1-12)"
  mkdir -p "$alt"; chmod 755 "$ES_VAR_TMP"; chown "$ES_USER:" "$alt"
  ln -sfn "$alt" "$d"
  echo "$alt"
}

# The ES home the user can read: the cache itself, or, when the cache is out of its reach, a
# copy inside this run's state (hard links where the file system allows: no extra disk), so
# that removing the state removes it too.
es_home() {
  local state="$1"
  if as_es test -r "$ES_DIST/lib" && as_es test -x "$ES_DIST/bin/elasticsearch"; then echo "$ES_DIST"; return; fi
  local copy="$state/home-$ES_VERSION"
  if [ ! -x "$copy/bin/elasticsearch" ]; then
    rm -rf "$copy.tmp"
    cp -al "$ES_DIST" "$copy.tmp" 2>/dev/null || { rm -rf "$copy.tmp"; cp -a "$ES_DIST" "$copy.tmp"; }
    chmod -R a+rX "$copy.tmp"; mv "$copy.tmp" "$copy"
  fi
  echo "$copy"
}

es_write_config() {
  local state="$1" home="$2"
  rm -rf "$state/config"
  cp -a "$home/config" "$state/config"
  # jvm.options points gc.log, heap dumps and hs_err files at logs/ and data/ relative to the
  # JVM's working directory, which the ES launcher sets to ES_HOME (read-only for $ES_USER).
  sed -i -e "s#file=logs/#file=$state/logs/#" -e "s#HeapDumpPath=data#HeapDumpPath=$state/data#" \
      -e "s#ErrorFile=logs/#ErrorFile=$state/logs/#" "$state/config/jvm.options"
  cat > "$state/config/elasticsearch.yml" <<EOF
# Generated by stack/es.sh: a throwaway single-node test cluster on loopback.
cluster.name: recoscope-local
node.name: recoscope-es-1
path.data: $state/data
path.logs: $state/logs
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: ${ES_TRANSPORT_PORT:-9300-9399}
# Binding to loopback + single-node keeps ES in development mode (no production bootstrap
# checks such as vm.max_map_count, which a CI container may not let us raise).
discovery.type: single-node
# Disk watermarks would turn the index read-only on a nearly full CI disk; the test data is tiny.
cluster.routing.allocation.disk.threshold_enabled: false
# Local test node on loopback only: plain HTTP without authentication. (The integ-test-zip
# ships x-pack-core and x-pack-security, whose 8.x default would be TLS + passwords.)
xpack.security.enabled: false
action.destructive_requires_name: false
EOF
  # Heap: fixed size as Elastic recommends; small on purpose (2-core, shared CI machine).
  cat > "$state/config/jvm.options.d/heap.options" <<EOF
-Xms$ES_HEAP
-Xmx$ES_HEAP
EOF
  chown -R "$ES_USER:" "$state/config"
}

# es_start: start on the existing data dir if there is one (STACK_KEEP_DATA=1 semantics are the
# caller's: `stack.sh up` wipes the data first, `stack.sh start` does not).
es_start() {
  local p
  if p="$(read_pid es)"; then log "es: already running (pid $p)"; return 0; fi
  [ -x "$ES_DIST/bin/elasticsearch" ] || die "es: not installed (stack/stack.sh install es)"
  es_ensure_user
  local state home java_home
  state="$(es_state_dir)"
  home="$(es_home "$state")"
  java_home="$(es_java_home)"
  mkdir -p "$state/data" "$state/logs"
  chown "$ES_USER:" "$state/data" "$state/logs"
  es_write_config "$state" "$home"
  rm -f "$state/es.pid"
  if http_probe -fsS -o /dev/null "$ES_URL" 2>/dev/null; then die "es: something else already answers on $ES_URL"; fi
  log "es: starting $ES_VERSION on $ES_URL as $ES_USER (state $state, java $java_home)"
  # -d daemonizes once the node has started; -p makes ES write the server JVM's pid.
  # shellcheck disable=SC2016 # $ES_TMPDIR, $0 and $1 are expanded by the inner bash.
  if ! as_es env -i PATH=/usr/bin:/bin HOME=/nonexistent ES_JAVA_HOME="$java_home" \
      ES_PATH_CONF="$state/config" ES_TMPDIR="$state/tmp" \
      bash -c 'mkdir -p "$ES_TMPDIR" && exec "$0"/bin/elasticsearch -d -p "$1"' "$home" "$state/es.pid" \
      > "$STACK_RUN_DIR/es.out" 2>&1; then
    cat "$STACK_RUN_DIR/es.out" >&2
    tail -n 40 "$state/logs/recoscope-local.log" >&2 2>/dev/null || true
    die "es: failed to start"
  fi
  local i
  for ((i=0; i<100; i++)); do [ -s "$state/es.pid" ] && break; sleep 0.1; done
  cp "$state/es.pid" "$STACK_RUN_DIR/es.pid"
  if ! wait_http "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=1s" "${ES_START_TIMEOUT:-180}"; then
    tail -n 40 "$state/logs/recoscope-local.log" >&2 2>/dev/null || true
    die "es: not healthy on $ES_URL after ${ES_START_TIMEOUT:-180}s"
  fi
  log "es: up (pid $(cat "$STACK_RUN_DIR/es.pid"))"
}

es_stop() { stop_pid es 60; }

# Remove the state: data, logs, config, the ES home copy (used by `stack.sh up`/`down` unless
# STACK_KEEP_DATA=1), and /var/tmp/recoscope-es once no other stack's state is in it.
es_reset() {
  local d="$STACK_RUN_DIR/es"
  if [ -L "$d" ]; then rm -rf "$(readlink -f "$d")"; rm -f "$d"; else rm -rf "$d"; fi
  rmdir "$ES_VAR_TMP" 2>/dev/null || true
}

es_status() {
  local p
  if p="$(read_pid es)"; then
    log "es: running pid $p on $ES_URL: $(http_probe -fsS "$ES_URL/_cat/health?h=status" 2>/dev/null || echo 'not answering')"
  else
    log "es: stopped"; return 1
  fi
}

es_version() {
  local live
  # Not running is fine here: the pipeline's failure must not stop `stack.sh versions`.
  live="$(http_probe -fsS "$ES_URL" 2>/dev/null | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p' | head -n1 || true)"
  echo "elasticsearch $ES_VERSION (integ-test-zip from Maven Central${live:+, running $live})"
}
