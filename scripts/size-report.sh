#!/usr/bin/env bash
# Prints raw / gzip -9 / brotli sizes of what a release build put in DIR (default dist/) and the
# gzipped total against the 150 KB budget for the whole playground.
# Growth is caught by a ratchet: scripts/size-ceiling.txt holds the largest accepted gzipped total;
# a build above it fails, so every increase is a deliberate edit of that file in a commit.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-dist}"
budget_gz=$((150 * 1024))
ceiling_gz=$(grep -v '^#' scripts/size-ceiling.txt | head -1)
total_gz=0
printf '%-44s %10s %10s %10s\n' "file" "raw" "gzip -9" "brotli"
for f in "$dir"/*.wasm "$dir"/*.js "$dir"/*.css "$dir"/*.html; do
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  if command -v brotli >/dev/null 2>&1; then br=$(brotli -q 11 -c "$f" | wc -c); else br="-"; fi
  total_gz=$((total_gz + gz))
  printf '%-44s %10s %10s %10s\n' "$(basename "$f")" "$raw" "$gz" "$br"
done
if [ "$total_gz" -eq 0 ]; then echo "no build output in $dir" >&2; exit 1; fi
echo "bundle: ${total_gz} bytes gzipped = $((total_gz * 100 / budget_gz))% of the 150 KB budget (ceiling ${ceiling_gz})"
if [ "$total_gz" -gt "$budget_gz" ]; then
  echo "bundle: OVER the 150 KB budget by $((total_gz - budget_gz)) bytes"
fi
if [ "$total_gz" -gt "$ceiling_gz" ]; then
  echo "bundle grew past the accepted ceiling in scripts/size-ceiling.txt (${ceiling_gz}); shrink it or raise the ceiling deliberately" >&2
  exit 1
fi
