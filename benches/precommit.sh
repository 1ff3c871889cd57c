#!/usr/bin/env bash
# Pre-commit budget: `shekara scan --staged` on a 10-file staged change in a
# 100,000-file repository (issue #6: under 50 ms).
#
#   benches/precommit.sh                 # repo in a temp dir, removed after
#   FILES=100000 STAGED=10 RUNS=30 REPO=/tmp/big benches/precommit.sh
#
# Builds the release binary, a repository of FILES small source/CSV files in
# one commit (made once; kept when REPO is given), stages STAGED edited files
# (two with an IIN), then times the hook's command with hyperfine (apt-get
# install hyperfine) or, without it, a loop of RUNS runs. Also times
# `git diff --cached` alone: the floor that any staged scan pays.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FILES=${FILES:-100000}
STAGED=${STAGED:-10}
RUNS=${RUNS:-30}
KEEP=${REPO:+1}
REPO=${REPO:-$(mktemp -d)}
[ -n "$KEEP" ] || trap 'rm -rf "$REPO"' EXIT

cargo build --release -q -p shekara --manifest-path "$ROOT/Cargo.toml"
BIN=$TARGET/release/shekara
export SHEKARA_FINGERPRINT_KEY=bench

if [ ! -d "$REPO/.git" ] || [ "$(git -C "$REPO" ls-files | wc -l)" -ne "$FILES" ]; then
  rm -rf "$REPO" && mkdir -p "$REPO"
  git -C "$REPO" init -q -b main
  git -C "$REPO" config user.email bench@example.invalid
  git -C "$REPO" config user.name bench
  python3 - "$REPO" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"pkg{i % 1000:03d}", f"mod{(i // 1000) % 10}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file{i}.py"), "w") as f:
        f.write(f"# module {i}\ndef f{i}(x):\n    return x * {i}\n")
PY
  git -C "$REPO" add -A
  git -C "$REPO" commit -qm "$FILES files"
fi
git -C "$REPO" reset -q
for i in $(seq 1 "$STAGED"); do
  f="$REPO/pkg$(printf %03d "$i")/mod0/file$i.py"
  printf 'x = %d\n' "$i" >> "$f"
  if [ "$i" -le 2 ]; then printf 'IIN = "850314319331"\n' >> "$f"; fi
  git -C "$REPO" add "$f"
done
echo "repo: $(git -C "$REPO" ls-files | wc -l) files, $(git -C "$REPO" diff --cached --name-only | wc -l) staged" >&2
set +e; (cd "$REPO" && "$BIN" scan --staged --quiet >/dev/null); rc=$?; set -e
[ "$rc" -eq 1 ] || { echo "expected exit 1 (two staged IINs), got $rc" >&2; exit 1; }

if command -v hyperfine >/dev/null; then
  (cd "$REPO" && hyperfine -N --warmup 3 --runs "$RUNS" -i \
    "git diff --cached --raw -z --no-renames --no-abbrev" \
    "$BIN scan --staged --quiet")
else
  for cmd in "git diff --cached --raw -z --no-renames --no-abbrev" "$BIN scan --staged --quiet"; do
    start=$(date +%s%N)
    for _ in $(seq 1 "$RUNS"); do (cd "$REPO" && $cmd >/dev/null 2>&1 || true); done
    end=$(date +%s%N)
    echo "$cmd: $(( (end - start) / RUNS / 1000 )) µs mean over $RUNS runs"
  done
fi
