#!/usr/bin/env bash
# Runs the healthchecks podman would schedule with systemd timers (there is no systemd here):
# every EVERY seconds, `podman healthcheck run` for each running container that has a
# healthcheck, so its health state moves starting -> healthy/unhealthy as under Docker and
# `depends_on: condition: service_healthy` gates open. Started and stopped by stack/compose.sh
# (pid file compose-health.pid) with CONTAINERS_CONF / CONTAINERS_STORAGE_CONF exported.
#
#   compose/healthcheck-driver.sh [EVERY]    (default 2 seconds)
#
# A container still `starting` (or `unhealthy`) is checked every round, so a gate opens within
# EVERY seconds of the service being ready (Docker would take up to `interval`); a `healthy`
# one every HEALTHY_EVERY rounds (default 5), which is enough to notice it going unhealthy
# and keeps the cost down (each check is a podman process plus an exec in the container).
# `retries` and `start_period` are applied by podman itself on each run.
set -uo pipefail
every="${1:-2}"
healthy_every="${HEALTHY_EVERY:-5}"
round=0
while true; do
  # Status reads "Up 3 seconds (starting)" / "(healthy)" / "(unhealthy)" only for a container
  # with a healthcheck.
  podman ps --format '{{.ID}} {{.Status}}' 2>/dev/null | while read -r id status; do
    case "$status" in
      *"(healthy)"*) [ $((round % healthy_every)) -eq 0 ] || continue ;;
      *"(starting)"*|*"(unhealthy)"*) ;;
      *) continue ;;
    esac
    out="$(timeout 60 podman healthcheck run "$id" 2>&1)"
    rc=$?
    printf '%s %s rc=%s %s\n' "$(date -u +%H:%M:%S)" "$id" "$rc" "$out"
  done
  round=$((round + 1))
  sleep "$every"
done
