#!/usr/bin/env bash
# Command 1: install what is missing, build, and serve the playground on http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
echo "[serve] building and serving on http://127.0.0.1:${PORT:-8080} (Ctrl-C to stop)"
exec trunk serve --address 127.0.0.1 --port "${PORT:-8080}" "$@"
