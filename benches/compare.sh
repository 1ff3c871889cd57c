#!/usr/bin/env bash
# End-to-end comparison: shekara vs ripgrep over the seeded benchmark corpus.
#
#   benches/compare.sh                      # 1 GiB corpus under benches/corpus
#   SIZE=256MiB ROUNDS=3 benches/compare.sh
#
# Environment: SIZE (default 1GiB), SEED (1), CORPUS (benches/corpus),
# ROUNDS (5), THREADS ("1 2"), CARGO_TARGET_DIR (target).
#
# Both tools run alternately, page cache warm; each figure is the median of
# ROUNDS runs. The ratio is shekara's throughput over ripgrep's (> 1: shekara
# is faster). ripgrep gets an equivalent combined regex: 12-digit runs not
# inside longer runs, plus the endpoint literals. Compare ratios from one run
# only: absolute times on shared machines drift by 15-20 %.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SIZE=${SIZE:-1GiB}
SEED=${SEED:-1}
CORPUS=${CORPUS:-$ROOT/benches/corpus}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1 2}

# Filled in after the build: 12-digit runs not inside longer runs, plus every
# literal anchor shekara's prefilter searches for (`shekara rules --anchors`).
RG_PATTERN=

say() { printf '%s\n' "$*" >&2; }
die() { say "compare.sh: $*"; exit 2; }

build() {
    say "== building shekara and gen-corpus (release)"
    (cd "$ROOT" && cargo build --release -p shekara -p shekara-benches --bin shekara --bin gen-corpus) \
        || die "build failed: fix it, then run again"
    SHEKARA=$TARGET/release/shekara
    [ -x "$SHEKARA" ] || die "no binary at $SHEKARA (is CARGO_TARGET_DIR right?)"
    # An equivalent pattern: the same literals shekara searches, escaped, and the digit runs.
    local literals
    literals=$("$SHEKARA" rules --anchors | sed 's/[][\\.^$*+?(){}|/-]/\\&/g' | paste -sd '|' -)
    RG_PATTERN="(^|[^0-9])[0-9]{12}([^0-9]|\$)|$literals"
}

find_rg() {
    if command -v rg >/dev/null 2>&1; then RG=$(command -v rg); return; fi
    RG=$TARGET/tools/bin/rg
    [ -x "$RG" ] && return
    say "== ripgrep not on PATH: installing into $TARGET/tools"
    if cargo install ripgrep --locked --root "$TARGET/tools" >&2; then return; fi
    say "cargo install failed; trying apt-get"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get install -y ripgrep >&2 || die "cannot install ripgrep: put rg on PATH and run again"
    RG=$(command -v rg) || die "ripgrep installed but not on PATH"
}

now() { date +%s.%N; }

# Runs "$@" and prints its wall time in seconds; exit codes 0 and 1 are success.
timed() {
    local t0 t1 rc=0
    t0=$(now)
    "$@" >/dev/null 2>&1 || rc=$?
    t1=$(now)
    [ "$rc" -le 1 ] || die "'$*' exited with $rc"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.4f\n", (v[m] + v[m + 1]) / 2 }'; }

run_shekara() { "$SHEKARA" scan "$CORPUS" --quiet --format json --threads "$1" -o /dev/null; }
run_rg() { "$RG" -c -a --no-ignore --hidden -j "$1" -e "$RG_PATTERN" "$CORPUS"; }

main() {
    build
    say "== corpus: $SIZE, seed $SEED, in $CORPUS"
    "$TARGET/release/gen-corpus" "$CORPUS" --size "$SIZE" --seed "$SEED"
    find_rg
    say "== ripgrep: $("$RG" --version | head -n1)"
    say "== warming the page cache"
    BYTES=$(find "$CORPUS" -type f -exec cat {} + | wc -c | tr -d ' ')
    run_shekara 2 >/dev/null 2>&1 || true
    run_rg 2 >/dev/null 2>&1 || true

    printf '\ncorpus: %s bytes (%s), %s rounds, median wall time\n' "$BYTES" "$SIZE" "$ROUNDS"
    printf '%-8s %12s %10s %12s %10s %10s\n' threads shekara_s GB/s ripgrep_s GB/s ratio
    for n in $THREADS; do
        local s_times="" r_times=""
        for ((i = 1; i <= ROUNDS; i++)); do
            s_times+="$(timed run_shekara "$n")"$'\n'
            r_times+="$(timed run_rg "$n")"$'\n'
        done
        local s r
        s=$(printf '%s' "$s_times" | median)
        r=$(printf '%s' "$r_times" | median)
        awk -v n="$n" -v b="$BYTES" -v s="$s" -v r="$r" 'BEGIN {
            printf "%-8s %12.3f %10.2f %12.3f %10.2f %9.2fx\n", n, s, b / s / 1e9, r, b / r / 1e9, r / s }'
    done
}

main "$@"
