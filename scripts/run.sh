#!/usr/bin/env bash
# Runs the archive on embedded defaults (SQLite index, objects on local disk
# under ./data), with generated sample studies loaded on first start and the
# web viewer at http://127.0.0.1:8042/. Installs what the build needs
# (cmake for the codecs; the wasm32 target and wasm-bindgen for the viewer).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cmake >/dev/null 2>&1; then
  echo "== installing cmake (needed to build the JPEG-LS codec)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends cmake >/dev/null
fi

scripts/build-viewer.sh
cargo build --release -p pacs
exec ./target/release/pacs serve --data-dir "${PACS_DATA_DIR:-./data}" --with-samples "$@"
