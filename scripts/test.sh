#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine, installing what it
# needs first: dcmtk and gdcm (reference DICOM peers and encoders), cmake
# (codec builds), Orthanc (benchmark reference), the Python DICOMweb client
# and pynetdicom, Garage (S3-compatible server, built once and cached),
# OpenJPH (HTJ2K encoder for the codec tests), poppler (the report PDF is
# rendered and read back), Chromium with chromedriver
# and Mesa's software Vulkan (the viewer's browser and GPU tests), the
# wasm32 target and wasm-bindgen.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

need_apt=()
for pkg in dcmtk dicom3tools libgdcm-tools cmake orthanc orthanc-dicomweb python3-venv pkg-config \
           chromium chromium-driver mesa-vulkan-drivers openjph-tools poppler-utils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# Orthanc's package starts a service on install; the tests never use it.
if command -v systemctl >/dev/null 2>&1; then systemctl stop orthanc >/dev/null 2>&1 || true; fi

VENV="${PACS_TEST_VENV:-$HOME/.cache/pacs-test-venv}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import dicomweb_client, pynetdicom, pydicom' >/dev/null 2>&1; then
  log "installing the Python test clients into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q 'dicomweb-client>=0.59' 'pynetdicom>=2.1' 'pydicom>=2.4' 'numpy' 'requests'
fi
export PACS_TEST_PYTHON="$VENV/bin/python"

GARAGE_BIN="${GARAGE_BIN:-$HOME/.cargo/bin/garage}"
if [ ! -x "$GARAGE_BIN" ]; then
  log "building Garage (S3-compatible server) once; it is cached in ~/.cargo/bin"
  # Only what the tests use (SQLite metadata, bundled libraries): about
  # half the build time of the default features.
  cargo install garage --locked --quiet --no-default-features --features bundled-libs,sqlite
fi
export GARAGE_BIN
export PACS_REQUIRE_S3=1
# Tests that need a tool (Vulkan adapter, encoder, browser) fail instead of skipping.
export CI="${CI:-1}"
export PACS_REQUIRE_TOOLS=1
# A one-off build gains nothing from the incremental cache, which would
# take several GB of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# A full disk shows up as a linker crash (SIGBUS) far from its cause: say so first.
free_kib=$(df -Pk . | awk 'NR == 2 { print $4 }')
if [ "$free_kib" -lt $((8 * 1024 * 1024)) ]; then
  echo "warning: only $((free_kib / 1024)) MiB free here; a clean test build needs about 8 GiB" >&2
fi

log "checking the layering"
if cargo tree -p dimse -e normal --prefix none | grep -qE '^(storage|pacs-core|dicomweb) '; then
  echo "invariant broken: dimse depends on a workspace crate above it" >&2; exit 1
fi
if cargo tree -p storage -e normal --prefix none | grep -qE '^dicom-'; then
  echo "invariant broken: storage depends on a DICOM crate" >&2; exit 1
fi
if cargo tree -p pacs-core -e normal --prefix none | grep -qE '^(warp|dicom-ul) '; then
  echo "invariant broken: pacs-core depends on warp or dicom-ul" >&2; exit 1
fi
for crate in reports oidc memory-budget; do
  if cargo tree -p "$crate" -e normal --prefix none | grep -qE '^(pacs-core|storage|dimse|dicomweb|pacs) '; then
    echo "invariant broken: $crate depends on a workspace crate" >&2; exit 1
  fi
done
for crate in viewer-core viewer-codecs; do
  if cargo tree -p "$crate" -e normal,build --prefix none | grep -qE '^(wgpu|web-sys|js-sys|cc|cmake|[a-z0-9_-]+-sys) '; then
    echo "invariant broken: $crate depends on a browser, GPU or C library" >&2; exit 1
  fi
done

log "building the web viewer (wasm32)"
scripts/build-viewer.sh
export PACS_VIEWER_DIR="$PWD/target/viewer"
export PACS_REQUIRE_BROWSER=1

log "running the test suite"
status=0
cargo test --workspace --no-fail-fast -- --test-threads="${PACS_TEST_THREADS:-2}" || status=$?

# The renderer's own shaders on real WebGPU and WebGL2 canvases (compiled
# to wasm32 and run in headless Chromium; the pacs tests above drive the
# whole viewer).
log "running the renderer's browser tests"
viewer-render/browser-test.sh || status=$?
exit "$status"
