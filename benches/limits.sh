#!/usr/bin/env bash
# Hostile archives (issue #4): wall time, peak RSS and the coverage record
# of `shekara scan` on each of them.
#
#   benches/limits.sh            # inputs in a temp dir, removed after
#   DIR=/tmp/hostile benches/limits.sh
#
# Builds the release binary and `gen-hostile` (fixtures/src/bin), writes a
# 42.zip-style bomb (4 TiB nominal), a zip quine, a gzip quine, a zip quine
# inside a tar.gz and 20-deep nested zips, then scans each on its own with
# `/usr/bin/time -v` (peak RSS = "Maximum resident set size") and prints one
# line per input: wall seconds, peak RSS in MB, exit code, the verdict and
# the coverage reasons from the JSON report.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
KEEP=${DIR:+1}
DIR=${DIR:-$(mktemp -d)}
[ -n "$KEEP" ] || trap 'rm -rf "$DIR"' EXIT

cargo build --release -q --manifest-path "$ROOT/Cargo.toml" -p shekara -p shekara-fixtures \
  --bin shekara --bin gen-hostile
"$TARGET/release/gen-hostile" "$DIR/in"
mkdir -p "$DIR/out"
export SHEKARA_FINGERPRINT_KEY=bench

printf '%-16s %10s %8s %8s %5s  %-11s %s\n' input size wall_s rss_MB exit verdict coverage
for f in 42.zip quine.zip quine.gz quine-in.tar.gz deep.zip; do
  in=$DIR/in/$f
  report=$DIR/out/$f.json
  set +e
  /usr/bin/time -v -o "$DIR/out/$f.time" \
    "$TARGET/release/shekara" scan "$in" --format json -o "$report" --quiet
  code=$?
  set -e
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$DIR/out/$f.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$DIR/out/$f.time")
  read -r verdict coverage < <(python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
v = next((v["verdict"] for v in r["verdicts"] if v["artefact"].get("path")), r["verdicts"][0]["verdict"])
c = ",".join(sorted({n["reason"] + "@" + str(len(n["inner"])) for n in r["coverage"]["not_scanned"]}))
print(v, c or "-")
PY
)
  printf '%-16s %10s %8s %8s %5s  %-11s %s\n' "$f" "$(stat -c %s "$in")" "$wall" "$rss" "$code" "$verdict" "$coverage"
done
echo "(coverage: reason@depth of the member it was recorded at, 0 = the file itself)"
