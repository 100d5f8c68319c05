#!/usr/bin/env bash
# Runs the renderer's browser tests (tests/browser.rs) in headless Chromium
# through chromedriver: WebGPU and WebGL2 canvases, both in software
# (SwiftShader), checked for the same bytes as the CPU window formula.
# Needs chromium, chromium-driver and wasm-bindgen-cli matching the
# workspace's wasm-bindgen (see scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-180}"
# Chromium flags for WebGPU and WebGL2 without a GPU.
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/webdriver.json"
exec cargo test -p viewer-render --target wasm32-unknown-unknown --test browser "$@"
