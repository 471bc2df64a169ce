# shellcheck shell=bash
# schemathesis (the OpenAPI fuzzer, from PyPI) for stack/stack.sh: install only — it is a
# command, not a server, so start/stop/reset do nothing. Installed into a virtualenv under
# the stack cache so a second CI run reuses it. Sourced after lib.sh; defines
# schemathesis_install, schemathesis_start, schemathesis_stop, schemathesis_status,
# schemathesis_version and schemathesis_bin (the `st` executable, for test/fuzz/).
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
  log "schemathesis: installing $SCHEMATHESIS_VERSION from PyPI into $venv"
  "${SCHEMATHESIS_PYTHON:-python3}" -m venv "$venv" || die "schemathesis: python3 -m venv $venv failed"
  "$venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION" \
    || die "schemathesis: pip install schemathesis==$SCHEMATHESIS_VERSION failed"
  log "schemathesis: $("$(schemathesis_bin)" --version)"
}

# A command, not a service: nothing to start or stop.
schemathesis_start() { schemathesis_install; }
schemathesis_stop() { :; }
schemathesis_status() {
  if [ -x "$(schemathesis_bin)" ]; then log "schemathesis: installed ($("$(schemathesis_bin)" --version 2>/dev/null))"
  else log "schemathesis: not installed"; return 1; fi
}
