#!/usr/bin/env bash
# Run every test binary given as an argument (from $BUILD), then the shell
# tests, and print one closing line "N passed, M failed" (checks summed over
# all tests). Exits non-zero if any check or any test program failed.
set -u
BUILD=${BUILD:-build}
passed=0 failed=0 crashed=0
tally() { # $1 = output file, $2 = exit status, $3 = name
    local p f
    p=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1 | awk '{print $1}')
    f=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1 | awk '{print $3}')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ "$2" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
        echo "!! $3 exited with status $2 without reporting a failed check"
        crashed=$((crashed + 1)); failed=$((failed + 1))
    fi
}
out=$(mktemp); trap 'rm -f "$out"' EXIT
for t in "$@"; do
    echo "== $t"
    "$BUILD/$t" >"$out" 2>&1; rc=$?
    grep -v '^  ok ' "$out"
    tally "$out" "$rc" "$t"
done
for s in tests/test_*.sh; do
    echo "== $s"
    BUILD=$BUILD bash "$s" >"$out" 2>&1; rc=$?
    grep -v -E '^(  ok |ok: )' "$out"
    tally "$out" "$rc" "$s"
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
