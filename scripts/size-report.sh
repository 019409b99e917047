#!/usr/bin/env bash
# Prints raw / gzip -9 / brotli sizes of what a release build put in DIR (default dist/), and the
# total gzipped against the 150 KB budget. Exits 1 over budget so growth is seen when it happens.
set -euo pipefail
dir="${1:-dist}"
budget_gz=$((150 * 1024))
total_gz=0
printf '%-40s %10s %10s %10s\n' "file" "raw" "gzip -9" "brotli"
for f in "$dir"/*.wasm "$dir"/*.js "$dir"/*.css "$dir"/*.html; do
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  if command -v brotli >/dev/null 2>&1; then br=$(brotli -q 11 -c "$f" | wc -c); else br="-"; fi
  total_gz=$((total_gz + gz))
  printf '%-40s %10s %10s %10s\n' "$(basename "$f")" "$raw" "$gz" "$br"
done
printf '%-40s %10s %10s\n' "total (wasm+js+css+html)" "" "$total_gz"
pct=$((total_gz * 100 / budget_gz))
echo "bundle: ${total_gz} bytes gzipped = ${pct}% of the 150 KB budget"
if [ "$total_gz" -gt "$budget_gz" ]; then
  echo "bundle over budget (150 KB gzipped)" >&2
  exit 1
fi
