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
#
# Three-node mode (ES_NODES=3): a real cluster on loopback, each node its own JVM, state dir,
# pid file, HTTP and transport port. Node 1 is the `es` of single-node mode (state
# $STACK_RUN_DIR/es, pid es.pid, HTTP $ES_PORT); node i > 1 is es-i. Ports: ES_HTTP_PORTS and
# ES_TRANSPORT_PORTS (comma-separated, one per node; default $ES_PORT, +1, +2 and 9300,
# 9301, 9302). `start` starts whichever nodes are not running (so after a node was killed,
# `ES_NODES=3 stack.sh start es` brings back just that one); `stop`/`down` stop them all.
# Heap per node: ES_HEAP (default 512m in this mode).
ES_VERSION="${ES_VERSION:-8.7.1}"
ES_PORT="${ES_PORT:-9200}"
ES_NODES="${ES_NODES:-1}"
case "$ES_NODES" in 1|3) ;; *) die "es: ES_NODES must be 1 or 3, got '$ES_NODES'" ;; esac
if [ "$ES_NODES" = 3 ]; then ES_HEAP="${ES_HEAP:-512m}"; fi
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

# es_node_name I: the pid/state name of node I (es for node 1, es-I for the others).
es_node_name() { if [ "$1" = 1 ]; then echo es; else echo "es-$1"; fi; }
# es_node_port LIST_VAR DEFAULT_BASE I: the I-th entry of a comma-separated port list, or
# BASE + I - 1 when the list is not given.
es_node_port() {
  local list="$1" base="$2" i="$3" p
  if [ -z "$list" ]; then echo $((base + i - 1)); return; fi
  p="$(printf '%s' "$list" | cut -d, -f"$i")"
  [[ "$p" =~ ^[0-9]+$ ]] || die "es: no port $i in '$list'"
  echo "$p"
}
es_http_port() { if [ "$ES_NODES" = 1 ]; then echo "$ES_PORT"; else es_node_port "${ES_HTTP_PORTS:-}" "$ES_PORT" "$1"; fi; }
es_transport_port() { es_node_port "${ES_TRANSPORT_PORTS:-}" 9300 "$1"; }

# Where node I keeps config/data/logs. Fixed per STACK_RUN_DIR so that stop + start finds its data.
es_state_dir() {
  local name d
  name="$(es_node_name "${1:-1}")"
  d="$STACK_RUN_DIR/$name"
  if [ -L "$d" ]; then readlink -f "$d"; return; fi
  mkdir -p "$d"
  chown "$ES_USER:" "$d"
  if as_es test -w "$d"; then echo "$d"; return; fi
  # The user cannot reach STACK_RUN_DIR (a parent is mode 700): keep the state elsewhere.
  rmdir "$d" 2>/dev/null || true
  local alt
  alt="$ES_VAR_TMP/$(printf '%s' "$STACK_RUN_DIR/$name" | sha1sum | cut -c1-12)"
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
  local state="$1" home="$2" i="${3:-1}" http_port transport_port discovery n seeds="" masters=""
  http_port="$(es_http_port "$i")"
  if [ "$ES_NODES" = 1 ]; then
    transport_port="${ES_TRANSPORT_PORT:-9300-9399}"
    # Binding to loopback + single-node keeps ES in development mode (no production bootstrap
    # checks such as vm.max_map_count, which a CI container may not let us raise).
    discovery="discovery.type: single-node"
  else
    transport_port="$(es_transport_port "$i")"
    for ((n=1; n<=ES_NODES; n++)); do
      seeds+="${seeds:+, }127.0.0.1:$(es_transport_port "$n")"
      masters+="${masters:+, }recoscope-es-$n"
    done
    # A real cluster: every node master-eligible and a data node, found through the others'
    # transport ports. Bound to loopback only, ES stays in development mode (no bootstrap
    # checks). initial_master_nodes matters only for the first election of fresh data.
    discovery="discovery.seed_hosts: [$seeds]
cluster.initial_master_nodes: [$masters]"
  fi
  rm -rf "$state/config"
  cp -a "$home/config" "$state/config"
  # jvm.options points gc.log, heap dumps and hs_err files at logs/ and data/ relative to the
  # JVM's working directory, which the ES launcher sets to ES_HOME (read-only for $ES_USER).
  sed -i -e "s#file=logs/#file=$state/logs/#" -e "s#HeapDumpPath=data#HeapDumpPath=$state/data#" \
      -e "s#ErrorFile=logs/#ErrorFile=$state/logs/#" "$state/config/jvm.options"
  cat > "$state/config/elasticsearch.yml" <<EOF
# Generated by stack/es.sh: a throwaway $ES_NODES-node test cluster on loopback.
cluster.name: recoscope-local
node.name: recoscope-es-$i
path.data: $state/data
path.logs: $state/logs
network.host: 127.0.0.1
http.port: $http_port
transport.port: $transport_port
$discovery
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

# es_start: start every node that is not running, on its existing data dir if there is one
# (STACK_KEEP_DATA=1 semantics are the caller's: `stack.sh up` wipes the data first,
# `stack.sh start` does not), then wait until the cluster has all its nodes.
es_start() {
  [ -x "$ES_DIST/bin/elasticsearch" ] || die "es: not installed (stack/stack.sh install es)"
  es_ensure_user
  local i started=0 url
  for ((i=1; i<=ES_NODES; i++)); do
    if es_start_node "$i"; then started=1; fi
  done
  url="http://127.0.0.1:$(es_http_port 1)"
  if [ "$ES_NODES" != 1 ]; then
    # Node 1 may be the one just restarted: ask any node that answers.
    for ((i=1; i<=ES_NODES; i++)); do
      url="http://127.0.0.1:$(es_http_port "$i")"
      http_probe -fsS -o /dev/null "$url" 2>/dev/null && break
    done
  fi
  if ! wait_http "$url/_cluster/health?wait_for_status=yellow&wait_for_nodes=$ES_NODES&timeout=1s" "${ES_START_TIMEOUT:-180}"; then
    for ((i=1; i<=ES_NODES; i++)); do tail -n 20 "$(es_state_dir "$i")/logs/recoscope-local.log" >&2 2>/dev/null || true; done
    die "es: not healthy ($ES_NODES node(s)) on $url after ${ES_START_TIMEOUT:-180}s"
  fi
  if [ "$started" = 1 ]; then log "es: up, $ES_NODES node(s), $url"; fi
}

# es_start_node I: starts node I unless it runs (status 1 then); does not wait for the cluster.
es_start_node() {
  local i="$1" name p state home java_home http_url
  name="$(es_node_name "$i")"
  if p="$(read_pid "$name")"; then log "es: $name already running (pid $p)"; return 1; fi
  state="$(es_state_dir "$i")"
  home="$(es_home "$state")"
  java_home="$(es_java_home)"
  http_url="http://127.0.0.1:$(es_http_port "$i")"
  mkdir -p "$state/data" "$state/logs"
  chown "$ES_USER:" "$state/data" "$state/logs"
  es_write_config "$state" "$home" "$i"
  rm -f "$state/es.pid"
  if http_probe -fsS -o /dev/null "$http_url" 2>/dev/null; then die "es: something else already answers on $http_url"; fi
  log "es: starting $name ($ES_VERSION) on $http_url as $ES_USER (state $state, java $java_home)"
  # -d daemonizes once the node has started; -p makes ES write the server JVM's pid.
  # shellcheck disable=SC2016 # $ES_TMPDIR, $0 and $1 are expanded by the inner bash.
  if ! as_es env -i PATH=/usr/bin:/bin HOME=/nonexistent ES_JAVA_HOME="$java_home" \
      ES_PATH_CONF="$state/config" ES_TMPDIR="$state/tmp" \
      bash -c 'mkdir -p "$ES_TMPDIR" && exec "$0"/bin/elasticsearch -d -p "$1"' "$home" "$state/es.pid" \
      > "$STACK_RUN_DIR/$name.out" 2>&1; then
    cat "$STACK_RUN_DIR/$name.out" >&2
    tail -n 40 "$state/logs/recoscope-local.log" >&2 2>/dev/null || true
    die "es: $name failed to start"
  fi
  local n
  for ((n=0; n<100; n++)); do [ -s "$state/es.pid" ] && break; sleep 0.1; done
  cp "$state/es.pid" "$STACK_RUN_DIR/$name.pid"
  log "es: $name started (pid $(cat "$STACK_RUN_DIR/$name.pid"))"
}

es_stop() {
  local i
  for ((i=ES_NODES; i>=1; i--)); do stop_pid "$(es_node_name "$i")" 60; done
}

# Remove the state: data, logs, config, the ES home copy (used by `stack.sh up`/`down` unless
# STACK_KEEP_DATA=1), and /var/tmp/recoscope-es once no other stack's state is in it.
es_reset() {
  local d i
  for ((i=1; i<=ES_NODES; i++)); do
    d="$STACK_RUN_DIR/$(es_node_name "$i")"
    if [ -L "$d" ]; then rm -rf "$(readlink -f "$d")"; rm -f "$d"; else rm -rf "$d"; fi
  done
  rmdir "$ES_VAR_TMP" 2>/dev/null || true
}

es_status() {
  local p i name url rc=0
  for ((i=1; i<=ES_NODES; i++)); do
    name="$(es_node_name "$i")"
    url="http://127.0.0.1:$(es_http_port "$i")"
    if p="$(read_pid "$name")"; then
      log "$name: running pid $p on $url: $(http_probe -fsS "$url/_cat/health?h=status" 2>/dev/null || echo 'not answering')"
    else
      log "$name: stopped"; rc=1
    fi
  done
  return "$rc"
}

es_version() {
  local live
  # Not running is fine here: the pipeline's failure must not stop `stack.sh versions`.
  live="$(http_probe -fsS "$ES_URL" 2>/dev/null | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p' | head -n1 || true)"
  echo "elasticsearch $ES_VERSION (integ-test-zip from Maven Central${live:+, running $live})"
}
