#!/usr/bin/env bash
# Fuzz the live service against its own OpenAPI document with schemathesis (PyPI, installed
# by ./schemathesis.sh into a virtualenv under $STACK_CACHE_DIR).
#
# Starts the compiled service (dist/src/main.js; run `npm run build` first) twice on free
# ports of 127.0.0.1, fetches /openapi.json from it, and runs `st run --checks all`
# (no 5xx, status codes, content types, response headers and schema conformance, negative
# data rejected, positive data accepted, undocumented methods 405 with Allow, auth not
# ignored):
#   1. with a valid key (`-H "Authorization: Bearer <key>"`), wrong-key throttle off — the
#      schemathesis auth checks send wrong keys on purpose, which would otherwise throttle
#      the run itself into 429s;
#      It serves the experiment of test/fuzz/experiments.json (EXPERIMENTS_FILE), so the
#      model_name enum has an experiment name and POST /feedback is fuzzed as well;
#   2. without a key, default throttle (20 wrong keys a minute): 401s, then 429s.
# Each run must make at least SCHEMATHESIS_MIN_REQUESTS requests (counted in the HAR report)
# and end with 0 failures; run 1 must also get real 200s (not a run of 401s or 429s).
#
# Environment (all optional):
#   STACK_CACHE_DIR              where the virtualenv lives (default .cache/stack)
#   SCHEMATHESIS_SEED            seed of both runs (default: random, printed to reproduce)
#   SCHEMATHESIS_MAX_EXAMPLES    test cases per operation and phase (default 1000)
#   SCHEMATHESIS_MIN_REQUESTS    requests each run must make (default 1000)
#   SCHEMATHESIS_REPORT_DIR      reports (HAR, JSON, JUnit) (default .cache/schemathesis)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"

export STACK_CACHE_DIR="${STACK_CACHE_DIR:-$root/.cache/stack}"
# shellcheck source=../../stack/lib.sh
source stack/lib.sh
# shellcheck source=schemathesis.sh
source test/fuzz/schemathesis.sh
schemathesis_install
st="$STACK_CACHE_DIR/venv-schemathesis/bin/st"
py="$STACK_CACHE_DIR/venv-schemathesis/bin/python"
"$st" --version

node="$root/node_modules/.bin/node"
[ -x "$node" ] || node="$(command -v node)"
[ -f dist/src/main.js ] || { echo "fuzz: dist/src/main.js is missing: run npm run build first" >&2; exit 2; }

seed="${SCHEMATHESIS_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-1000}"
min_requests="${SCHEMATHESIS_MIN_REQUESTS:-1000}"
reports="${SCHEMATHESIS_REPORT_DIR:-$root/.cache/schemathesis}"
rm -rf "$reports"
mkdir -p "$reports"
echo "fuzz: seed $seed (SCHEMATHESIS_SEED=$seed reproduces), max examples $max_examples, at least $min_requests requests per run"

pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# start_service NAME KEY [VAR=VALUE ...]: sets $url once /health answers 200. Not called in
# a $(…) subshell, so the service's pid reaches `pids` and the EXIT trap stops it.
start_service() {
  local name="$1" key="$2" port i
  shift 2
  port="$(free_port)"
  mkdir -p "$reports/$name"
  env -i PATH="$PATH" HOME="$HOME" PORT="$port" HOST=127.0.0.1 METRICS_PORT=0 API_KEY="$key" \
    LOG_DIR="$reports/$name" LOG_STDOUT=false NODE_ENV=production \
    SYNTHETIC_USERS=2000 SYNTHETIC_ITEMS=300 SYNTHETIC_INTERACTIONS=30000 SYNTHETIC_SEED=7 \
    ARTIFACTS_DIR="$reports/$name/no-artifacts" "$@" \
    "$node" dist/src/main.js >"$reports/$name/stdout.log" 2>"$reports/$name/stderr.log" &
  pids+=("$!")
  for ((i = 0; i < 600; i++)); do
    if [ "$(curl --connect-timeout 2 --max-time 10 -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]; then
      url="http://127.0.0.1:$port"
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "fuzz: the $name service exited: $(cat "$reports/$name/stderr.log")" >&2; return 1; }
    sleep 0.1
  done
  echo "fuzz: the $name service did not become ready" >&2
  return 1
}

# fuzz NAME URL [st options ...]: one schemathesis run, then its request count and statuses.
fuzz() {
  local name="$1" url="$2" status=0
  shift 2
  # From a file, so /openapi.json itself is an operation under test too (st skips the URL
  # it loaded the schema from).
  curl --connect-timeout 2 --max-time 30 -fsS "$url/openapi.json" >"$reports/$name/openapi.json"
  echo
  echo "==== schemathesis: $name → $url"
  "$st" run "$reports/$name/openapi.json" --url "$url" --checks all --seed "$seed" \
    --max-examples "$max_examples" --workers 1 --request-timeout 10 \
    --report har,json,junit --report-dir "$reports/$name" "$@" || status=$?
  "$py" - "$reports/$name" "$name" "$min_requests" <<'PY' || status=1
import collections, glob, json, sys
folder, name, minimum = sys.argv[1], sys.argv[2], int(sys.argv[3])
har = json.load(open(glob.glob(f"{folder}/har-*.json")[0]))
entries = har["log"]["entries"]
report = json.load(open(glob.glob(f"{folder}/json-*.json")[0]))
statuses = collections.Counter(e["response"]["status"] for e in entries)
print(f"fuzz {name}: {len(entries)} requests, test cases {report['test_cases']['generated']}, "
      f"failures {report['test_cases']['with_failures']} ({report['test_cases']['unique_failures']} unique), "
      f"errors {len(report['errors'])}, statuses {dict(sorted(statuses.items()))}")
problems = []
if len(entries) < minimum:
    problems.append(f"only {len(entries)} requests (at least {minimum} required)")
if report["test_cases"]["with_failures"] or report["failures"] or report["errors"]:
    problems.append("schemathesis found failures or errors (see above)")
if any(s >= 500 for s in statuses):
    problems.append("5xx answers")
if name == "with-key":
    if statuses.get(200, 0) < minimum // 10:
        problems.append(f"only {statuses.get(200, 0)} answers were 200: the key or the run is broken")
    warned = {k: v for k, v in report["warnings"].items() if v and k in ("missing_auth", "rate_limited")}
    if warned:
        problems.append(f"warnings {sorted(warned)}")
for p in problems:
    print(f"fuzz {name}: FAIL: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
  return "$status"
}

key="fuzz-$("$py" -c 'import secrets; print(secrets.token_urlsafe(24))')"
failed=0
url=""
# With an experiment, so /reco/{model_name} is fuzzed through an experiment's arms too.
start_service with-key "$key" AUTH_FAILURE_LIMIT=0 EXPERIMENTS_FILE="$root/test/fuzz/experiments.json"
fuzz with-key "$url" -H "Authorization: Bearer $key" || failed=1
start_service without-key "$key"
fuzz without-key "$url" || failed=1

cleanup
pids=()
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED (reports in $reports)" >&2
  exit 1
fi
echo "fuzz: passed: schemathesis $("$st" --version | sed 's/.*version //'), seed $seed, 0 failures"
