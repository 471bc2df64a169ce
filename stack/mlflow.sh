# shellcheck shell=bash
# MLflow tracking server for stack/stack.sh: installed from PyPI into a virtualenv in the
# cache, run with a sqlite backend on 127.0.0.1. Sourced after lib.sh; defines mlflow_install,
# mlflow_start, mlflow_stop, mlflow_status, mlflow_version, mlflow_reset.
#
# Environment (all optional):
#   MLFLOW_VERSION        PyPI version of mlflow (default below; the full package: mlflow-skinny
#                         has no tracking server UI/backend store dependencies)
#   MLFLOW_HOST           listen address (default 127.0.0.1)
#   MLFLOW_PORT           listen port (default 5000)
#   MLFLOW_NAME           pid/log/data name in $STACK_RUN_DIR (default mlflow)
#   MLFLOW_START_TIMEOUT  seconds to wait for /health (default 180; first start migrates sqlite)
#   PYTHON                interpreter for the virtualenv (default python3, needs >= 3.10)

MLFLOW_DEFAULT_VERSION="3.17.2"

mlflow_version() { echo "${MLFLOW_VERSION:-$MLFLOW_DEFAULT_VERSION}"; }

_mlflow_venv() { echo "$STACK_CACHE_DIR/venv-mlflow-$(mlflow_version)"; }
_mlflow_name() { echo "${MLFLOW_NAME:-mlflow}"; }
_mlflow_url() { echo "http://${MLFLOW_HOST:-127.0.0.1}:${MLFLOW_PORT:-5000}"; }

# The venv counts as installed once pip finished: $venv/.installed holds the version. A
# half-done install (killed pip) lacks it and is redone from scratch.
mlflow_install() {
  local version venv py
  version="$(mlflow_version)"
  venv="$(_mlflow_venv)"
  if [ "$(cat "$venv/.installed" 2>/dev/null)" = "$version" ]; then
    log "mlflow: $version already installed ($venv)"
    return 0
  fi
  py="${PYTHON:-python3}"
  command -v "$py" >/dev/null 2>&1 || die "mlflow: '$py' is not on PATH (needed for the virtualenv)"
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || die "mlflow: $py is older than 3.10"
  rm -rf "$venv"
  log "mlflow: installing mlflow==$version from PyPI into $venv (a few minutes the first time)"
  "$py" -m venv "$venv" || die "mlflow: python3 -m venv failed (Debian: apt-get install python3-venv)"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==$version" > "$venv/install.log" 2>&1; then
    tail -n 30 "$venv/install.log" >&2
    die "mlflow: pip install mlflow==$version failed (log: $venv/install.log)"
  fi
  echo "$version" > "$venv/.installed"
  log "mlflow: installed $("$venv/bin/python" -m mlflow --version 2>/dev/null)"
}

mlflow_reset() { rm -rf "${STACK_RUN_DIR:?}/$(_mlflow_name)"; }

mlflow_start() {
  local name venv data logf p url
  name="$(_mlflow_name)"
  venv="$(_mlflow_venv)"
  [ "$(cat "$venv/.installed" 2>/dev/null)" = "$(mlflow_version)" ] || die "mlflow: not installed, run: stack/stack.sh install mlflow"
  if p="$(read_pid "$name")"; then log "mlflow: already running (pid $p)"; return 0; fi
  data="$STACK_RUN_DIR/$name"
  mkdir -p "$data/artifacts"
  logf="$STACK_RUN_DIR/$name.log"
  url="$(_mlflow_url)"
  # setsid: own process group, so stop_pid's group kill reaches uvicorn and its workers too.
  # The job runner (huey consumers for MLflow's GenAI jobs) is not needed for tracking.
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$venv/bin/python" -m mlflow server \
    --backend-store-uri "sqlite:///$data/mlflow.db" \
    --default-artifact-root "$data/artifacts" \
    --host "${MLFLOW_HOST:-127.0.0.1}" --port "${MLFLOW_PORT:-5000}" --workers 1 \
    > "$logf" 2>&1 < /dev/null &
  echo $! > "$STACK_RUN_DIR/$name.pid"
  if ! wait_http "$url/health" "${MLFLOW_START_TIMEOUT:-180}"; then
    tail -n 30 "$logf" >&2
    stop_pid "$name" 5
    die "mlflow: not healthy at $url/health (log: $logf)"
  fi
  log "mlflow: up (pid $(cat "$STACK_RUN_DIR/$name.pid")), $url, mlflow $(mlflow_version), sqlite $data/mlflow.db"
}

mlflow_stop() { stop_pid "$(_mlflow_name)" 20; }

mlflow_status() {
  local name p
  name="$(_mlflow_name)"
  if p="$(read_pid "$name")"; then
    if http_probe -fsS -o /dev/null "$(_mlflow_url)/health" 2>/dev/null; then
      log "mlflow: running (pid $p), healthy at $(_mlflow_url)"
    else
      log "mlflow: running (pid $p), NOT healthy"; return 1
    fi
  else
    log "mlflow: stopped"; return 1
  fi
}
