#!/usr/bin/env bash
# Builds the web viewer (the viewer-wasm crate) for the browser into
# target/viewer/, where `pacs serve` finds it. Installs what it needs: the
# wasm32 target and the wasm-bindgen CLI matching the wasm-bindgen crate.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${PACS_VIEWER_OUT:-target/viewer}"
# The CLI must be the exact version of the crate (pinned in Cargo.toml).
WB_VERSION="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "== adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  echo "== installing wasm-bindgen-cli $WB_VERSION (once; cached in ~/.cargo/bin)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --quiet
fi

# One build at a time: the swap below is not safe against a second run.
mkdir -p target
exec 9>target/.build-viewer.lock
flock 9

echo "== building the viewer (wasm32, release)"
cargo build --release -p viewer-wasm --target wasm32-unknown-unknown

# Assemble beside the old copy and swap, so a running server never serves
# half of one version and half of another.
rm -rf "$OUT.new"
mkdir -p "$OUT.new"
wasm-bindgen --target web --no-typescript --out-dir "$OUT.new" \
  target/wasm32-unknown-unknown/release/viewer_wasm.wasm
cp -R viewer-wasm/static/. "$OUT.new/"
# Precompressed copies for slow links (served when the browser accepts gzip).
find "$OUT.new" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \) \
  -exec gzip -9 -k -f {} \;
rm -rf "$OUT.old"
[ -d "$OUT" ] && mv "$OUT" "$OUT.old"
mv "$OUT.new" "$OUT"
rm -rf "$OUT.old"
echo "== viewer ready in $OUT ($(du -sh "$OUT" | cut -f1))"
