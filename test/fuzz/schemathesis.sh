# shellcheck shell=bash
# schemathesis (the OpenAPI fuzzer, from PyPI) for run-schemathesis.sh beside it: a test
# tool, not a part of the stack. Installed into a virtualenv under the stack cache so a second
# CI run reuses it. Sourced after stack/lib.sh (log, venv_install); defines
# schemathesis_install, schemathesis_version and schemathesis_bin (the `st` executable).
#
# Environment (all optional):
#   SCHEMATHESIS_PYTHON   the python3 used to create the virtualenv (default python3)

# Single source of truth for the version (pinned: its checks and CLI change between minors).
SCHEMATHESIS_VERSION="4.32.5"

_schemathesis_venv() { echo "$STACK_CACHE_DIR/venv-schemathesis"; }
schemathesis_bin() { echo "$(_schemathesis_venv)/bin/st"; }

schemathesis_version() { echo "$SCHEMATHESIS_VERSION"; }

schemathesis_install() {
  local venv py installed
  venv="$(_schemathesis_venv)"
  py="$venv/bin/python"
  if [ -x "$py" ]; then
    installed="$("$py" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)"
    if [ "$installed" = "$SCHEMATHESIS_VERSION" ]; then
      log "schemathesis: $SCHEMATHESIS_VERSION already installed ($venv)"
      return 0
    fi
  fi
  venv_install schemathesis "$venv" "${SCHEMATHESIS_PYTHON:-python3}" "schemathesis==$SCHEMATHESIS_VERSION"
  log "schemathesis: $("$(schemathesis_bin)" --version)"
}

