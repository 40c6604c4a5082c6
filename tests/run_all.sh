#!/usr/bin/env bash
# Run every test binary given as an argument (from $BUILD), then the shell
# tests, and print one closing line "N passed, M failed" (checks summed over
# all tests), each test's wall time after its name's line, and the slowest
# ones at the end (CI's budget is ~15 min for this suite twice, plain and
# under ASan). Exits non-zero if any check or any test program failed.
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
out=$(mktemp); times=$(mktemp); trap 'rm -f "$out" "$times"' EXIT
t0=$SECONDS
took() { # $1 = name, $2 = start (SECONDS)
    echo "   ($(( SECONDS - $2 )) s)"
    echo "$(( SECONDS - $2 )) $1" >>"$times"
}
for t in "$@"; do
    echo "== $t"
    start=$SECONDS
    "$BUILD/$t" >"$out" 2>&1; rc=$?
    grep -v '^  ok ' "$out"
    took "$t" "$start"
    tally "$out" "$rc" "$t"
done
for s in tests/test_*.sh; do
    echo "== $s"
    start=$SECONDS
    BUILD=$BUILD bash "$s" >"$out" 2>&1; rc=$?
    grep -v -E '^(  ok |ok: )' "$out"
    took "$s" "$start"
    tally "$out" "$rc" "$s"
done
echo
echo "slowest: $(sort -rn "$times" | head -6 | awk '{printf "%s%s %d s", (NR > 1 ? ", " : ""), $2, $1}'); all $(( SECONDS - t0 )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
