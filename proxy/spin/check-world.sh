#!/usr/bin/env bash
# Checks with wasm-tools what Spin's HTTP trigger would check when it links the proxy component:
# that it targets Spin's `http-trigger` world (wasi:cli/imports plus outgoing HTTP, exporting
# the incoming handler), and that the bare `wasi:http/proxy` world is not enough (hence
# `wasmtime serve -S cli`). The WASI WIT comes from the wasmtime-wasi-http crate the host builds
# with (Cargo.lock's version), so the versions are the host's. Usage: proxy/spin/check-world.sh [COMPONENT.wasm]
set -euo pipefail
cd "$(dirname "$0")/../.."
wasm="${1:-target/wasm32-wasip2/component/kube_lease_proxy.wasm}"

# The crate's sources, as the host's build unpacked them (run after building host-test).
http_version=$(awk '/^name = "wasmtime-wasi-http"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
http_crate=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"wasmtime-wasi-http-$http_version" | head -1)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/wit"
cp -r "$http_crate/wit/deps" "$dir/wit/deps"
version=$(sed -n 's/^package wasi:http@\(.*\);$/\1/p' "$dir/wit/deps/http.wit")
cat > "$dir/wit/world.wit" <<WIT
package kube-lease:spin-check;

/// The WASI part of Spin's fermyon:spin http-trigger world.
world http-trigger {
  include wasi:cli/imports@$version;
  import wasi:http/outgoing-handler@$version;
  export wasi:http/incoming-handler@$version;
}
WIT

wasm-tools component targets "$dir/wit" "$wasm" --world http-trigger
echo "ok: $wasm targets Spin's http-trigger world (WASI $version)"
if wasm-tools component targets "$http_crate/wit" "$wasm" --world wasi:http/proxy 2>/dev/null; then
  echo "unexpected: $wasm targets the bare wasi:http/proxy world" >&2
  exit 1
fi
echo "ok: the bare wasi:http/proxy world is not enough (wasmtime serve needs -S cli)"
