#!/usr/bin/env bash
# Runs the healthchecks podman would schedule with systemd timers (there is no systemd here):
# every EVERY seconds, `podman healthcheck run` for each running container that has a
# healthcheck, so its health state moves starting -> healthy/unhealthy as under Docker and
# `depends_on: condition: service_healthy` gates open. Started and stopped by stack/compose.sh
# (pid file compose-health.pid) with CONTAINERS_CONF / CONTAINERS_STORAGE_CONF exported.
#
#   compose/healthcheck-driver.sh [EVERY]    (default 2 seconds)
#
# One round per EVERY, whatever each container's `interval`: a gate opens within EVERY
# seconds of the service being ready (Docker would take up to `interval`); `retries` and
# `start_period` are applied by podman itself on each run.
set -uo pipefail
every="${1:-2}"
while true; do
  # Status reads "Up 3 seconds (starting)" / "(healthy)" / "(unhealthy)" only for a container
  # with a healthcheck.
  podman ps --format '{{.ID}} {{.Status}}' 2>/dev/null | while read -r id status; do
    case "$status" in
      *"(starting)"*|*"(healthy)"*|*"(unhealthy)"*)
        out="$(timeout 60 podman healthcheck run "$id" 2>&1)"
        rc=$?
        printf '%s %s rc=%s %s\n' "$(date -u +%H:%M:%S)" "$id" "$rc" "$out" ;;
    esac
  done
  sleep "$every"
done
