# shellcheck shell=bash
# grpcurl (a gRPC command-line client written by FullStory, not by us) for stack/stack.sh:
# built with `go install` from the Go module proxy (module github.com/fullstorydev/grpcurl,
# program cmd/grpcurl), into a cache directory keyed by its version. Install only — it is a
# command, not a server, so start/stop/reset do nothing. The gRPC e2e test
# (test/e2e/grpc.e2e.test.ts) calls the service with it and the repository's .proto.
# Sourced after lib.sh; defines grpcurl_install, grpcurl_start, grpcurl_stop, grpcurl_status,
# grpcurl_version and grpcurl_bin.
#
# Environment (all optional):
#   GRPCURL_VERSION         module tag (default 1.9.4)
#   GRPCURL_BUILD_TIMEOUT   seconds before the build is abandoned (default 1200)

GRPCURL_VERSION="${GRPCURL_VERSION:-1.9.4}"
GRPCURL_MODULE="github.com/fullstorydev/grpcurl"
GRPCURL_DIR="$STACK_CACHE_DIR/grpcurl-$GRPCURL_VERSION"

grpcurl_bin() { echo "$GRPCURL_DIR/grpcurl"; }

grpcurl_install() {
  if [ -x "$(grpcurl_bin)" ]; then log "grpcurl: $GRPCURL_VERSION cached at $(grpcurl_bin)"; return 0; fi
  command -v go >/dev/null || die "grpcurl: go is needed to build grpcurl"
  local t0 tmp
  t0=$(date +%s)
  tmp="$GRPCURL_DIR.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  log "grpcurl: go install $GRPCURL_MODULE/cmd/grpcurl@v$GRPCURL_VERSION through $(go env GOPROXY)"
  # GOBIN to a temporary directory, renamed when complete: an interrupted build never
  # leaves a half-written binary where the cache check above would trust it.
  if ! (cd "$STACK_CACHE_DIR" && CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$tmp" timeout "${GRPCURL_BUILD_TIMEOUT:-1200}" \
        go install -trimpath -ldflags "-s -w -X main.version=v$GRPCURL_VERSION" "$GRPCURL_MODULE/cmd/grpcurl@v$GRPCURL_VERSION"); then
    rm -rf "$tmp"
    die "grpcurl: go install failed"
  fi
  rm -rf "$GRPCURL_DIR"; mv "$tmp" "$GRPCURL_DIR"
  log "grpcurl: built $(grpcurl_bin) in $(( $(date +%s) - t0 ))s ($("$(grpcurl_bin)" -version 2>&1))"
}

# A command, not a service: nothing to start or stop.
grpcurl_start() { grpcurl_install; }
grpcurl_stop() { :; }
grpcurl_status() {
  if [ -x "$(grpcurl_bin)" ]; then log "grpcurl: installed ($("$(grpcurl_bin)" -version 2>&1))"
  else log "grpcurl: not installed"; return 1; fi
}
grpcurl_version() {
  if [ -x "$(grpcurl_bin)" ]; then "$(grpcurl_bin)" -version 2>&1
  else echo "grpcurl (module v$GRPCURL_VERSION, not built yet)"; fi
}
