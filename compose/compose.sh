#!/usr/bin/env bash
# `docker compose` for this machine: the Docker Compose v2 binary of stack/compose.sh against
# podman's Docker API socket, on docker-compose.yml + compose/standins.override.yml, with the
# versions of .env.example, the stand-ins' image tags (compose/standins.sh env) and the
# caller's env file (passwords, API key, host ports: COMPOSE_RUN_ENV, default .env).
#
#   compose/compose.sh up -d | ps | logs SERVICE | down -v | …   (any docker-compose arguments)
#
# Needs `stack/stack.sh up compose` (the podman API) and `compose/standins.sh build`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../stack/lib.sh
source "$here/../stack/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../stack/compose.sh
source "$here/../stack/compose.sh"
compose_env
[ -x "$COMPOSE_BIN" ] || die "compose: not installed, run: stack/stack.sh install compose"
standin_env="$COMPOSE_STATE/standins.env"
mkdir -p "$COMPOSE_STATE"
"$here/standins.sh" env > "$standin_env"
# This machine's limits (stack/compose.sh), for Elasticsearch's ulimits (the override reads
# them): a service's own `ulimits` replace containers.conf's defaults, and podman's own nproc
# default (1048576) is above what runc may set here.
[ -f "$COMPOSE_STATE/limits.env" ] || die "compose: run stack/stack.sh up compose first"
cat "$COMPOSE_STATE/limits.env" >> "$standin_env"
run_env="${COMPOSE_RUN_ENV:-$PROJECT_ROOT/.env}"
[ -f "$run_env" ] || die "compose: no env file $run_env (cp .env.example .env and fill it in, or set COMPOSE_RUN_ENV)"
cd "$PROJECT_ROOT"
exec "$COMPOSE_BIN" --project-directory "$PROJECT_ROOT" \
  -f docker-compose.yml -f compose/standins.override.yml \
  --env-file .env.example --env-file "$standin_env" --env-file "$run_env" "$@"
