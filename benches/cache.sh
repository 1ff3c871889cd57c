#!/usr/bin/env bash
# Incremental sweeps: first vs second sweep of an unchanged tree with
# `--cache` (issue #6: the second under 5 % of the first), then one file
# edited.
#
#   benches/cache.sh                               # 10 GiB tree under benches/cache-tree
#   SIZE=1GiB TREE=/tmp/tree benches/cache.sh
#
# The tree comes from the corpus generator (gen-corpus, deterministic for
# SEED; generated once, kept). The page cache is left as it is (no root
# tricks on a shared machine): where the tree does not stay in memory (the
# development VM keeps about 1 GB of page cache), the first sweep reads from
# disk and its wall time flatters the ratio. Both wall and CPU time (user +
# system) are printed, and the ratio of each: CPU time does not depend on
# the disk.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SIZE=${SIZE:-10GiB}
SEED=${SEED:-1}
TREE=${TREE:-$ROOT/benches/cache-tree}
CACHE=${CACHE_DIR:-$(mktemp -d)}
trap 'rm -rf "$CACHE"' EXIT

cargo build --release -q -p shekara -p shekara-benches --manifest-path "$ROOT/Cargo.toml"
"$TARGET/release/gen-corpus" "$TREE" --size "$SIZE" --seed "$SEED" >&2
export SHEKARA_FINGERPRINT_KEY=bench
# Prints "WALL_MS CPU_MS" of one sweep.
sweep() {
  local start end rc=0
  start=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$CACHE/time-$1" \
    "$TARGET/release/shekara" scan "$TREE" --cache "$CACHE" --format json --quiet -o "$CACHE/report-$1.json" || rc=$?
  end=$(date +%s%N)
  [ "$rc" -le 1 ] || { echo "sweep $1 failed ($rc)" >&2; exit 1; }
  echo $(( (end - start) / 1000000 )) "$(awk 'END { printf "%d", ($1 + $2) * 1000 }' "$CACHE/time-$1")"
}
files=$(find "$TREE" -type f | wc -l)
echo "tree: $SIZE, $files files" >&2
read -r first first_cpu < <(sweep first); echo "first sweep: $first ms" >&2
read -r second second_cpu < <(sweep second); echo "second sweep: $second ms" >&2
victim=$(find "$TREE" -type f -name '*.csv' | sort | sed -n 1p)
printf '\n1,850314319331\n' >> "$victim"
read -r third third_cpu < <(sweep edited)
cached() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["coverage"]; print(c.get("files_cached",0), c["files_scanned"])' "$CACHE/report-$1.json"; }
echo "tree: $SIZE, $files files"
echo "first sweep:  ${first} ms wall, ${first_cpu} ms CPU  (cached/scanned: $(cached first))"
echo "second sweep: ${second} ms wall, ${second_cpu} ms CPU  (cached/scanned: $(cached second))"
echo "one file edited: ${third} ms wall, ${third_cpu} ms CPU  (cached/scanned: $(cached edited))"
python3 -c "import sys; f,s,fc,sc=map(int,sys.argv[1:]); print(f'second/first: {100*s/max(f,1):.2f} % wall, {100*sc/max(fc,1):.2f} % CPU')" "$first" "$second" "$first_cpu" "$second_cpu"
