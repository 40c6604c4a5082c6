#!/usr/bin/env bash
# tests/test_malformed.sh - every file in tests/data/malformed/ (written by
# tests/ref/make_malformed.py) is rejected by `lenet inspect` with exit 2 and
# exactly one line on stderr naming the file; nothing crashes (under `make
# asan` this runs build-asan/lenet, so a memory error or undefined behaviour
# is a failure too).
#   images-*  used as train-images-idx3-ubyte[.gz] next to 5 valid labels
#   labels-*  used as train-labels-idx1-ubyte[.gz] next to 5 valid 20x24 images
#   others    given to `inspect --image`
# Prints one line per check and ends with "N passed, M failed".
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
dir=$repo/tests/data/malformed

[ -x "$lenet" ] || { fail "$lenet not built"; finish; }
make_tmp

good_images() { be32 2051; be32 5; be32 20; be32 24; head -c $((5 * 20 * 24)) /dev/zero | tr '\0' '\100'; }
good_labels() { be32 2049; be32 5; printf '\001\002\003\004\005'; }

n=$(find "$dir" -maxdepth 1 -type f | wc -l)
if [ "$n" -ge 50 ]; then pass "$n malformed files committed (at least 50)"; else fail "only $n malformed files in $dir"; fi

# The partner files are valid: the pair loads (so a rejection below is the malformed file's doing).
mkdir -p "$tmp/ok/train"
good_images >"$tmp/ok/train/train-images-idx3-ubyte"
good_labels >"$tmp/ok/train/train-labels-idx1-ubyte"
if "$lenet" inspect --data "$tmp/ok" --json >"$tmp/out" 2>"$tmp/err" && grep -q '"size": 5' "$tmp/out"; then
    pass "the partner files (5 images of 20x24, 5 labels) load"
else
    fail "the partner files do not load: $(cat "$tmp/err")"
fi

# One case: prints "ok" or "FAIL" with the details. $1 = file, $2 = scratch folder.
run_case() {
    local f=$1 w=$2 name gz target rc lines d
    name=$(basename "$f")
    gz=; case $name in *.gz) gz=.gz ;; esac
    case $name in
    images-*)
        d=$w/case; rm -rf "$d"; mkdir -p "$d/train"
        cp "$f" "$d/train/train-images-idx3-ubyte$gz"
        good_labels >"$d/train/train-labels-idx1-ubyte"
        target=train-images-idx3-ubyte
        "$lenet" inspect --data "$d" >"$w/out" 2>"$w/err"; rc=$? ;;
    labels-*)
        d=$w/case; rm -rf "$d"; mkdir -p "$d/train"
        good_images >"$d/train/train-images-idx3-ubyte"
        cp "$f" "$d/train/train-labels-idx1-ubyte$gz"
        target=train-labels-idx1-ubyte
        "$lenet" inspect --data "$d" >"$w/out" 2>"$w/err"; rc=$? ;;
    *)
        target=$f
        "$lenet" inspect --image "$f" >"$w/out" 2>"$w/err"; rc=$? ;;
    esac
    lines=$(wc -l <"$w/err")
    if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && grep -qF -- "$target" "$w/err" && grep -q '^lenet: ' "$w/err"; then
        echo "ok:   $name: exit 2, one line naming the file"
    else
        echo "FAIL: $name: exit $rc, $lines stderr lines: $(head -c 600 "$w/err")"
    fi
}

# Two workers (each run is mostly sanitizer start-up time under make asan).
files=("$dir"/*)
for k in 0 1; do
    (mkdir -p "$tmp/w$k"
     for ((i = k; i < ${#files[@]}; i += 2)); do run_case "${files[i]}" "$tmp/w$k"; done >"$tmp/r$k") &
done
wait
cat "$tmp/r0" "$tmp/r1"
passed=$((passed + $(cat "$tmp/r0" "$tmp/r1" | grep -c '^ok:')))
failed=$((failed + $(cat "$tmp/r0" "$tmp/r1" | grep -c '^FAIL:')))
cases=$(cat "$tmp/r0" "$tmp/r1" | grep -c .)
[ "$cases" -eq "${#files[@]}" ] || fail "only $cases of ${#files[@]} cases reported"
finish
