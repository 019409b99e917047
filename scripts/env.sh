# Sourced by the scripts: puts the pinned tools first on PATH (npm's wasm-opt before any /usr/bin one).
export PATH="$PWD/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CHROMEDRIVER=/usr/bin/chromedriver
export TRUNK_SKIP_VERSION_CHECK=true
