#!/usr/bin/env bash
# Validates every kustomize overlay under k8s/overlays/ with k8s/validate: strict decoding of
# each rendered object against the real k8s.io/api types plus cross-object checks (see
# k8s/validate/main.go). Not a server-side dry-run: no kube-apiserver is built here (its cold
# build from the Go module proxy would cost about as much as Jaeger's; docs/kubernetes.md).
#
#   bash k8s/check.sh          (npm run k8s:check)
#
# Runs the validator's own tests first (the overlays pass, each broken fixture in
# k8s/validate/testdata fails for its reason), then prints one line per overlay.
# Go's module and build caches make a second run take seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v go >/dev/null 2>&1 || { echo "k8s/check.sh: 'go' is not on PATH" >&2; exit 1; }
cd "$here/validate"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
go test -count=1 ./...
bin="$(mktemp -d)/validate"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" .
overlays=()
for d in "$here"/overlays/*/; do overlays+=("${d%/}"); done
"$bin" "${overlays[@]}"
