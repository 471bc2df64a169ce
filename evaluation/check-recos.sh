#!/usr/bin/env bash
# Recompute npm run evaluate's metrics from its --dump-recos CSV with rectools itself
# (evaluation/check_recos.py), in a virtualenv under the stack cache made on first use.
#
#   bash evaluation/check-recos.sh --install                      only make the virtualenv
#   bash evaluation/check-recos.sh --run run.json --recos recos.csv [--dataset ratings.csv]
#
# RECTOOLS_VERSION (default below) and STACK_CACHE_DIR as for stack/stack.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
version="${RECTOOLS_VERSION:-0.19.0}"
cache="${STACK_CACHE_DIR:-$root/.cache/stack}"
venv="$cache/venv-rectools-$version"

if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$version" ]; then
  rm -rf "$venv"
  mkdir -p "$cache"
  printf '[check-recos] installing rectools==%s from PyPI into %s\n' "$version" "$venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "rectools==$version" > "$venv/install.log" 2>&1; then
    tail -n 30 "$venv/install.log" >&2
    printf '[check-recos] error: pip install rectools==%s failed\n' "$version" >&2
    exit 1
  fi
  echo "$version" > "$venv/.installed"
fi
if [ "${1:-}" = "--install" ]; then exit 0; fi
exec "$venv/bin/python" "$here/check_recos.py" "$@"
