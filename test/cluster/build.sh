#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok) from Go modules into a cache directory outside the repository, and fetches the
# Gateway API module (for its CRD YAML) into the module cache.
# Prints the binary directory on its last line. A second run with the same pins returns at once.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${NOPEA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nopea}
export GOMODCACHE=$cache/gomod GOCACHE=$cache/gobuild GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
out=$cache/k8s-$K8S_VERSION-kwok-$KWOK_VERSION-$(go env GOVERSION)
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

complete() { for b in "${bins[@]}"; do [ -x "$out/$b" ] || return 1; done; }
# Gateway API's CRDs are YAML inside its Go module (no build); the harness installs them from the module
# cache. Checked before the early exit so a cache built before this step gets them too.
gateway=$GOMODCACHE/sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION/config/crd/standard
if [ ! -d "$gateway" ]; then
  command -v go >/dev/null || { echo "build.sh: Go is not installed; install Go 1.26 to fetch the Gateway API CRDs" >&2; exit 1; }
  (cd / && GOFLAGS= go mod download "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION") >&2
  [ -d "$gateway" ] || { echo "build.sh: sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION has no config/crd/standard" >&2; exit 1; }
fi
if complete; then echo "$out"; exit 0; fi

command -v go >/dev/null || { echo "build.sh: Go is not installed; install Go 1.26 to build the test control plane" >&2; exit 1; }
mkdir -p "$cache"
# Two runs sharing the cache (vitest and cluster:up, or two checkouts) must not build into the same
# .partial directory at once: the second one waits here, then finds the finished build.
if command -v flock >/dev/null; then
  exec 9>"$cache/build.lock"
  flock 9
  if complete; then echo "$out"; exit 0; fi
fi
rm -rf "$out.partial"
mkdir -p "$out.partial"
log() { printf '[cluster build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
start=$(date +%s)

# The wrapper module lives in the repo (go.mod/go.sum pin every dependency); it is built in place.
cd "$here/k8s"
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR -X $p.gitTreeState=clean"
done
log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v$K8S_VERSION"
go build -p 2 -trimpath -ldflags "$ld" -o "$out.partial/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
log "building etcd"
go build -p 2 -trimpath -ldflags "-s -w" -o "$out.partial/etcd" go.etcd.io/etcd/server/v3
log "building kwok $KWOK_VERSION"
# kwok is installed on its own so its dependencies cannot move the Kubernetes graph.
(cd / && GOFLAGS= GOBIN=$out.partial go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
# Stages shipped with kwok are needed at run time; copy them next to the binaries.
mkdir -p "$out.partial/kwok-stages"
cp -r "$GOMODCACHE/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage/." "$out.partial/kwok-stages/"
chmod -R u+w "$out.partial/kwok-stages"
rm -rf "$out" && mv "$out.partial" "$out"
log "done in $(( $(date +%s) - start ))s"
echo "$out"
