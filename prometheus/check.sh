#!/usr/bin/env bash
# Static checks of the Prometheus setup with promtool (Debian package `prometheus`):
#   promtool check config   prometheus.yml (compose) and the rendered local template
#   promtool check rules    rules/*.yml
#   promtool test rules     tests/*.test.yml (each alert: a firing and a not-firing case)
# Run by `npm run prometheus:check` and CI (.ci/run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v promtool >/dev/null 2>&1 || { echo "promtool not found: apt-get install prometheus (or: bash stack/stack.sh install prometheus)" >&2; exit 1; }
promtool --version 2>&1 | head -n1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# compose config: its rule_files point at /etc/prometheus/rules inside the container; check it
# with the rules where the container has them by rewriting that one path.
sed "s#/etc/prometheus/rules#$here/rules#" "$here/prometheus.yml" > "$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml"

# local template, rendered the way stack/prometheus.sh renders it
sed -e "s#@SCRAPE_INTERVAL@#1s#" -e "s#@SCRAPE_TIMEOUT@#1s#" -e "s#@EVALUATION_INTERVAL@#1s#" \
    -e "s#@RULES_DIR@#$here/rules#" -e "s#@TARGETS@#'127.0.0.1:9464'#" \
    "$here/prometheus.local.yml" > "$tmp/prometheus.local.yml"
promtool check config "$tmp/prometheus.local.yml"

promtool check rules "$here"/rules/*.yml
(cd "$here/tests" && promtool test rules ./*.test.yml)
