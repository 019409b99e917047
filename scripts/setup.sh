#!/usr/bin/env bash
# Installs whatever is missing, from Debian, crates.io and npm only (never GitHub). Idempotent:
# every step checks first and says what it does; a second run only checks versions.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/versions.env
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"
say() { printf '[setup] %s\n' "$*"; }

# 0. The files that must agree with scripts/versions.env do.
lock_wb=$(awk '$0=="name = \"wasm-bindgen\""{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
[ "$lock_wb" = "$WASM_BINDGEN_VERSION" ] || { echo "[setup] Cargo.lock has wasm-bindgen $lock_wb but versions.env says $WASM_BINDGEN_VERSION" >&2; exit 1; }
grep -q "\"binaryen\": \"$BINARYEN_VERSION\"" package.json || { echo "[setup] package.json's binaryen differs from versions.env ($BINARYEN_VERSION)" >&2; exit 1; }
grep -q "\"playwright-core\": \"$PLAYWRIGHT_CORE_VERSION\"" package.json || { echo "[setup] package.json's playwright-core differs from versions.env ($PLAYWRIGHT_CORE_VERSION)" >&2; exit 1; }
grep -q "\"axe-core\": \"$AXE_CORE_VERSION\"" package.json || { echo "[setup] package.json's axe-core differs from versions.env ($AXE_CORE_VERSION)" >&2; exit 1; }
grep -q "wasm_opt = \"version_${BINARYEN_VERSION%%.*}\"" Trunk.toml || { echo "[setup] Trunk.toml's wasm_opt pin differs from versions.env (version_${BINARYEN_VERSION%%.*})" >&2; exit 1; }

# 1. Debian: headless browser + WebDriver (for wasm tests and the end-to-end tests).
missing=()
for pkg in $DEBIAN_PACKAGES; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "Debian packages present: $DEBIAN_PACKAGES"
fi

# 2. The Rust wasm target.
if rustup target list --installed | grep -qx "$RUST_WASM_TARGET"; then
  say "rust target present: $RUST_WASM_TARGET"
else
  say "adding rust target $RUST_WASM_TARGET"
  rustup target add "$RUST_WASM_TARGET"
fi

# 3. Trunk, built from crates.io (LTO off: ~4 min instead of ~6 on 2 cores; same behaviour).
if [ "$("$CARGO_BIN/trunk" --version 2>/dev/null || true)" = "trunk $TRUNK_VERSION" ]; then
  say "trunk $TRUNK_VERSION present"
else
  say "building trunk $TRUNK_VERSION from crates.io (a few minutes, once)"
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install --locked trunk --version "$TRUNK_VERSION"
fi

# 4. wasm-bindgen-cli, exactly the wasm-bindgen version in Cargo.lock.
#    No --locked: its own lock file pins a webpki-roots the registry here does not serve.
if [ "$("$CARGO_BIN/wasm-bindgen" --version 2>/dev/null | cut -d' ' -f2 || true)" = "$WASM_BINDGEN_VERSION" ]; then
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION present"
else
  say "building wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (about 2 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# 5. npm: binaryen (wasm-opt) and playwright-core, exactly as package-lock.json says.
if [ -d node_modules ] && npm ls --depth=0 >/dev/null 2>&1 && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  say "npm packages present (package-lock.json)"
else
  say "installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund
fi

# 6. Crates, so later builds need no network.
cargo fetch --locked >/dev/null
say "crates fetched (Cargo.lock)"
say "ready"
