#!/usr/bin/env bash
# Builds the real Kulta controller from ../shared/kulta/source (read-only) into the cache directory,
# keyed by a hash of the source and the Rust toolchain, so a warm run reuses it. Prints the binary's
# path on its last line; progress goes to stderr.
# Never writes into the source tree: cargo's target and home directories live in the cache, and the
# source hash is checked again after the build (CI may run as root, where read-only modes protect
# nothing).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source=${NOPEA_KULTA_SOURCE:-$(cd "$here/../../.." && pwd)/shared/kulta/source}
[ -f "$source/Cargo.toml" ] || { echo "build-kulta.sh: no Kulta source at $source (set NOPEA_KULTA_SOURCE)" >&2; exit 1; }
source=$(cd "$source" && pwd)
cache=${NOPEA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nopea}

command -v cargo >/dev/null || { echo "build-kulta.sh: cargo is not installed; install Rust to build Kulta" >&2; exit 1; }
command -v rustc >/dev/null || { echo "build-kulta.sh: rustc is not installed; install Rust to build Kulta" >&2; exit 1; }

# Paths and contents of every file (a target/ left in the source is not source), NUL-safe.
source_hash() {
  (cd "$source" && find . -path ./target -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16
}
hash=$(source_hash)
# The toolchain is part of the key, as the Go version is for the control plane. rustup (and cargo's
# config lookup) go by the working directory: use Kulta's own tree, whoever calls this.
rust=$(cd "$source" && rustc -V | awk '{print $2}')
out=$cache/kulta-$hash-rust$rust
if [ -x "$out/kulta" ]; then echo "$out/kulta"; exit 0; fi

mkdir -p "$cache"
# vitest, cluster:up and scripts/test.sh may all ask at once: the others wait here, then find it built.
if command -v flock >/dev/null; then
  exec 9>"$cache/kulta-build.lock"
  flock 9
  if [ -x "$out/kulta" ]; then echo "$out/kulta"; exit 0; fi
fi
log() { printf '[kulta build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
start=$(date +%s)
# The target dir is shared across source hashes, so a changed source rebuilds incrementally.
export CARGO_HOME=$cache/cargo CARGO_TARGET_DIR=$cache/kulta-target
log "building Kulta ($hash, rustc $rust) from $source; a cold build takes 8-25 minutes on 2 cores"
# --locked: the lock file pins every crate; the manifest path keeps the source tree read-only.
(cd "$source" && cargo build --release --locked --bin kulta --manifest-path "$source/Cargo.toml") >&2
if [ "$(source_hash)" != "$hash" ]; then
  echo "build-kulta.sh: the Kulta source at $source changed during the build; refusing to cache" >&2
  exit 1
fi
rm -rf "$out.partial"
mkdir -p "$out.partial"
cp "$CARGO_TARGET_DIR/release/kulta" "$out.partial/kulta"
rm -rf "$out" && mv "$out.partial" "$out"
log "done in $(($(date +%s) - start))s: $out/kulta"
echo "$out/kulta"
