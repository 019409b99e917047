#!/usr/bin/env bash
# Command 2: install what is missing, then run every test. Exits non-zero on any failure.
#   native:  cargo test for the whole workspace (engine, scenario, CLI), then the UI's pure modules
#   wasm:    wasm-bindgen-test in headless Chromium (tests/web.rs)
#   build:   trunk build --release (wasm-opt -Oz) + the bundle size report
#   e2e:     Playwright drives the built page in headless Chromium (e2e/*.test.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
step() { printf '\n=== %s ===\n' "$*"; }

step "native tests (cargo test --workspace)"
cargo test --workspace --locked --no-fail-fast

step "UI unit tests, native (cargo test --features web --lib)"
cargo test --locked --features web --lib

step "wasm tests in headless Chromium (cargo test --target wasm32-unknown-unknown --test web)"
cargo test --locked --target wasm32-unknown-unknown --no-default-features --features web --test web

step "release build (trunk build --release)"
trunk build --release --locked
bash scripts/size-report.sh dist

step "end-to-end tests in headless Chromium (node --test e2e/)"
node --test --test-concurrency=1 e2e/
