#!/bin/bash
# What the official image's entrypoint does with the environment, for the settings compose
# passes: every variable whose name contains a dot (cluster.name, xpack.security.enabled, …)
# becomes -E<name>=<value>; ELASTIC_PASSWORD becomes the keystore's bootstrap.password (the
# `elastic` user's first password, used only when security is on).
set -euo pipefail
args=()
while IFS='=' read -r -d '' name value; do
  case "$name" in *.*) args+=("-E$name=$value") ;; esac
done < <(env -0)
if [ -n "${ELASTIC_PASSWORD:-}" ]; then
  [ -f config/elasticsearch.keystore ] || elasticsearch-keystore create >/dev/null
  printf '%s' "$ELASTIC_PASSWORD" | elasticsearch-keystore add -x -f bootstrap.password >/dev/null
fi
exec elasticsearch "${args[@]}" "$@"
