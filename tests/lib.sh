# shellcheck shell=bash
# tests/lib.sh - the prelude the shell tests share. Source it right after
# `set -u`:   . "$(dirname "$0")/lib.sh"
#
# Variables it sets:
#   repo       the repository root (absolute)
#   BUILD      the build folder, from the environment (default build)
#   bin        $BUILD as an absolute path (relative ones are taken from $repo)
#   lenet      $bin/lenet
#   mnist      MNIST in MindSpore layout: $MNIST_DIR (default datasets/MNIST_Data)
#   passed, failed   the check counters (start at 0)
#
# Functions:
#   pass WHAT / fail WHAT / skip WHAT
#                     print "ok:   WHAT" / "FAIL: WHAT" / "skip: WHAT";
#                     pass and fail count the check
#   check WHAT CMD... pass WHAT if CMD... succeeds, else fail it (conditions
#                     given as `eval '...'` run here, after the command they test)
#   finish            print "N passed, M failed" and exit, non-zero if a check failed
#   make_tmp          a new temporary folder in $tmp, removed when the test exits
#   run ARGS...       run $lenet ARGS...: stdout in $tmp/out, stderr in
#                     $tmp/err, exit status in $rc
#   err_is_line NEEDLE...
#                     $tmp/err is exactly one line and contains every NEEDLE
#   err_form_ok       $tmp/err is one error line in lenet's form (README,
#                     "Error messages"): "lenet: " then the reason, whose first
#                     word is a word - not a path, an option, a quote or a
#                     "subject:" label; the file or option comes after it
#   expect_error WHAT RC NEEDLE... -- ARGS...
#                     run ARGS...; pass WHAT if it exits RC with one stderr line
#                     in that form holding every NEEDLE, else fail it showing
#                     exit and stderr
#   under_asan        true when $lenet was built with AddressSanitizer
#   be32 N            N as 4 big-endian bytes on stdout
#   src_file NAME     the raw or .gz MNIST file NAME under $mnist (looked up in
#                     train/, test/, then $mnist itself), uncompressed on stdout
#   small_checkpoint NTRAIN NTEST STEPS
#                     in $tmp (make_tmp first; the current folder): $data, a
#                     data set of NTRAIN/NTEST images (mnist_subset), $T, the
#                     train options on it (one thread, quiet), and $good, the
#                     checkpoint of a STEPS-step run in $tmp/ck; finishes with
#                     a failure when that run does not save it
#   mnist_subset DIR NTRAIN NTEST
#                     a MindSpore-layout data set in DIR (train/ and test/)
#                     made of the first NTRAIN train and NTEST test images and
#                     labels of $mnist, with IDX headers for those counts

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) bin=$BUILD ;; *) bin=$repo/$BUILD ;; esac
lenet=$bin/lenet
mnist=${MNIST_DIR:-$repo/datasets/MNIST_Data}

# ASan builds: LeakSanitizer's scan at exit must not crash by chance. Clang
# 14's runtime (LLVM <= 16) intercepts __tls_get_addr and, when a dynamic TLS
# block (malloc'd by glibc for a dlopen'd library such as libmicrohttpd or
# GnuTLS) happens to start 16 bytes into a page, takes the 16 bytes before it
# for a glibc 2.19 header and records their words as that block's start and
# size: the scan then reads a bogus range and dies ("Tracer caught signal 11"
# in __lsan::ScanRangeForPointers), about 1 `lenet serve` run in 15 of
# test_serve_reload.sh. Without the interception the leak check still runs;
# dynamic TLS is then not a root, which could only add reports, not hide one.
# No effect on binaries built without ASan.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}intercept_tls_get_addr=0

passed=0
failed=0
pass() { echo "ok:   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "skip: $*"; }
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

make_tmp() {
    tmp=$(mktemp -d)
    trap 'rm -rf -- "$tmp"' EXIT
}

run() {
    "$lenet" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
err_is_line() {
    local n
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || return 1
    for n in "$@"; do grep -qF -- "$n" "$tmp/err" || return 1; done
}
err_form_ok() {
    local line first
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || return 1
    line=$(cat "$tmp/err")
    case $line in "lenet: "*) ;; *) return 1 ;; esac
    line=${line#lenet: }
    first=${line%% *}
    [[ $first =~ ^[A-Za-z][^/:]*$ ]]
}
expect_error() {
    local what=$1 want_rc=$2
    shift 2
    local needles=()
    while [ "$1" != -- ]; do needles+=("$1"); shift; done
    shift
    run "$@"
    if [ "$rc" -eq "$want_rc" ] && err_is_line "${needles[@]}" && err_form_ok; then
        pass "$what"
    else
        fail "$what (exit $rc, stderr: $(head -c 300 "$tmp/err" | tr '\n' '|'))"
    fi
}

# Finish here, as a skip, when the real MNIST is not at $mnist; $1 (optional)
# says what goes untested.
require_mnist() {
    if [ ! -f "$mnist/train/train-images-idx3-ubyte" ] && [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
        skip "real MNIST not found at $mnist (make data)${1:+: $1}"
        finish
    fi
}

# True when $lenet was built with AddressSanitizer (make asan).
under_asan() { grep -q __asan_init "$lenet" 2>/dev/null; }

be32() {
    printf '%b' "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"
}
src_file() {
    local d
    for d in "$mnist/train" "$mnist/test" "$mnist"; do
        if [ -f "$d/$1" ]; then cat "$d/$1"; return; fi
        if [ -f "$d/$1.gz" ]; then gzip -dc "$d/$1.gz"; return; fi
    done
    return 1
}
mnist_subset() {
    local dir=$1 ntrain=$2 ntest=$3
    mkdir -p "$dir/train" "$dir/test"
    { be32 2051; be32 "$ntrain"; be32 28; be32 28; src_file train-images-idx3-ubyte | tail -c +17 | head -c $((ntrain * 784)); } \
        >"$dir/train/train-images-idx3-ubyte"
    { be32 2049; be32 "$ntrain"; src_file train-labels-idx1-ubyte | tail -c +9 | head -c "$ntrain"; } \
        >"$dir/train/train-labels-idx1-ubyte"
    { be32 2051; be32 "$ntest"; be32 28; be32 28; src_file t10k-images-idx3-ubyte | tail -c +17 | head -c $((ntest * 784)); } \
        >"$dir/test/t10k-images-idx3-ubyte"
    { be32 2049; be32 "$ntest"; src_file t10k-labels-idx1-ubyte | tail -c +9 | head -c "$ntest"; } \
        >"$dir/test/t10k-labels-idx1-ubyte"
}
small_checkpoint() {
    data=$tmp/data
    mnist_subset "$data" "$1" "$2"
    T="--data $data --threads 1 --print-every 0 --progress off"
    # shellcheck disable=SC2086
    "$lenet" train $T --max-steps "$3" --ckpt-dir "$tmp/ck" >/dev/null 2>&1
    good=$tmp/ck/checkpoint_lenet-1_$3.ckpt
    if [ ! -s "$good" ]; then
        fail "could not train the small checkpoint the checks start from"
        finish
    fi
}
