#!/usr/bin/env bash
# tests/test_train_cli.sh - `lenet train`'s optimizer options (rate schedules,
# rate lists, parameter groups) and its run management (resume, JSON-lines
# log, checkpoints that survive a kill mid-write, --init from a MindSpore
# checkpoint), on a small subset of the real MNIST.
#
# Uses $BUILD/lenet (BUILD defaults to build) and MNIST in $MNIST_DIR
# (default datasets/MNIST_Data). Works in a temporary folder only. Prints
# one line per check and ends with "N passed, M failed".
# shellcheck disable=SC2016
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) lenet=$BUILD/lenet ;; *) lenet=$repo/$BUILD/lenet ;; esac
mnist=${MNIST_DIR:-$repo/datasets/MNIST_Data}

passed=0
failed=0
pass() { echo "ok:   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
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

if [ ! -x "$lenet" ]; then
    fail "$lenet not built"
    finish
fi
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
cd "$tmp" || exit 1

run() {
    "$lenet" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
err_is_line() {
    local n
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || return 1
    for n in "$@"; do grep -qF -- "$n" "$tmp/err" || return 1; done
}
expect_error() { # WHAT RC NEEDLE... -- ARGS...
    local what=$1 want_rc=$2
    shift 2
    local needles=()
    while [ "$1" != -- ]; do needles+=("$1"); shift; done
    shift
    run "$@"
    if [ "$rc" -eq "$want_rc" ] && err_is_line "${needles[@]}"; then
        pass "$what"
    else
        fail "$what (exit $rc, stderr: $(head -c 300 "$tmp/err" | tr '\n' '|'))"
    fi
}

# ------------------------------------------------------- usage errors ---
expect_error "--lr-schedule bogus: exit 2, names the option" 2 "--lr-schedule" "bogus" -- train --lr-schedule bogus
expect_error "--group with an unknown key: exit 2, names the key" 2 "--group" "momentum" -- \
    train --group 'conv*:momentum=0.5'
expect_error "--group with a bad value: exit 2" 2 "--group" "lr" -- train --group 'conv*:lr=fast'
expect_error "--milestones without as many --lr-values: exit 2" 2 "--milestones" -- \
    train --lr-schedule piecewise --milestones 10,20 --lr-values 0.1
expect_error "--init with --resume: exit 2" 2 "--init" "--resume" -- train --init a.ckpt --resume b.ckpt
expect_error "--lr-file with --lr-schedule: exit 2" 2 "--lr-file" -- train --lr-file x --lr-schedule cosine
run train --help
check "train --help documents the schedules, groups, --resume and --log" \
    eval '[ "$rc" -eq 0 ] && grep -q -- "--lr-schedule NAME" "$tmp/out" && grep -q -- "--decay-epochs" "$tmp/out" &&
          grep -q -- "--group" "$tmp/out" && grep -q -- "--resume CKPT" "$tmp/out" && grep -q -- "--log FILE" "$tmp/out"'

if [ ! -f "$mnist/train/train-images-idx3-ubyte" ] && [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
    echo "skip: real MNIST not found at $mnist (make data)"
    finish
fi

# A subset: 640 train images (20 steps of 32 per epoch), 100 test images.
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
data=$tmp/mnist
mkdir -p "$data/train" "$data/test"
{ be32 2051; be32 640; be32 28; be32 28; src_file train-images-idx3-ubyte | tail -c +17 | head -c $((640 * 784)); } \
    >"$data/train/train-images-idx3-ubyte"
{ be32 2049; be32 640; src_file train-labels-idx1-ubyte | tail -c +9 | head -c 640; } >"$data/train/train-labels-idx1-ubyte"
{ be32 2051; be32 100; be32 28; be32 28; src_file t10k-images-idx3-ubyte | tail -c +17 | head -c $((100 * 784)); } \
    >"$data/test/t10k-images-idx3-ubyte"
{ be32 2049; be32 100; src_file t10k-labels-idx1-ubyte | tail -c +9 | head -c 100; } >"$data/test/t10k-labels-idx1-ubyte"
T="--data $data --threads 1 --print-every 0"

# ------------------------------------------------ rate schedules (issue 4) ---
# shellcheck disable=SC2086
run train $T --epochs 3 --nesterov --weight-decay 1e-4 --lr-schedule cosine --lr 0.05 --lr-min 0.005 \
    --ckpt-dir "$tmp/ck-cos" --json
check "train --nesterov --weight-decay 1e-4 --lr-schedule cosine --epochs 3: exit 0" eval '[ "$rc" -eq 0 ]'
[ "$rc" -eq 0 ] || sed 's/^/    /' "$tmp/err"
# cosine_decay_lr(0.005, 0.05, 60, 20, 3): epoch e uses 0.005 + 0.0225*(1 + cos(pi*e/3))
# = 0.05, 0.03875, 0.01625 (float32 shortest repr).
check "the epoch lines report the rate used: 0.05, 0.03875, 0.01625" \
    eval 'grep -q "^epoch 1: .*, lr 0.05$" "$tmp/err" && grep -q "^epoch 2: .*, lr 0.03875$" "$tmp/err" &&
          grep -q "^epoch 3: .*, lr 0.01625$" "$tmp/err"'
check "--json epoch objects carry \"lr\"" \
    eval 'grep -q "\"epoch\": 3, .*\"lr\": 0.01625}" "$tmp/out"'
check "TimeMonitor line per epoch (MindSpore >= 1.8 format)" \
    eval '[ "$(grep -cE "^Train epoch time: [0-9]+\.[0-9]{3} ms, per step time: [0-9]+\.[0-9]{3} ms$" "$tmp/err")" -eq 3 ]'
ck=$(ls "$tmp"/ck-cos/*.ckpt | tail -n 1)
if command -v protoc >/dev/null 2>&1; then
    protoc --decode=CkptFile --proto_path="$repo/tests/ref" mindspore_checkpoint.proto <"$ck" >"$tmp/dec.txt" 2>/dev/null
    check "dynamic-rate checkpoint: protoc lists global_step (1) Int32 and learning_rate (60) after the params" \
        eval 'awk "/name:/ {n=\$2} /dims:/ {d[n]=d[n] \" \" \$2} /tensor_type:/ {print n d[n], \$2}" "$tmp/dec.txt" |
              sed -n "11,13p" | tr -d "\"" | tr "\n" "|" | grep -qx "global_step 1 Int32|learning_rate 60 Float32|momentum 0 Float32|"'
fi

printf '0.1\n0.1\n0.05\n' >"$tmp/short.txt"
# shellcheck disable=SC2086
run train $T --lr-file "$tmp/short.txt" --ckpt-dir "$tmp/ck-short"
check "--lr-file shorter than the run: exit 2 at start-up, one line, no checkpoint" \
    eval '[ "$rc" -eq 2 ] && err_is_line "3 steps" "20" && ! ls "$tmp"/ck-short/*.ckpt >/dev/null 2>&1'
seq 1 20 | awk '{ print 0.01 }' >"$tmp/rates.txt"
# shellcheck disable=SC2086
run train $T --lr-file "$tmp/rates.txt" --ckpt-dir "$tmp/ck-list"
check "--lr-file with 20 rates for 20 steps: exit 0" eval '[ "$rc" -eq 0 ]'
# shellcheck disable=SC2086
run train $T --max-steps 5 --lr-schedule warmup --decay-steps 4 --log "$tmp/warm.jsonl" --ckpt-dir "$tmp/ck-w"
# warmup_lr(0.01, 5, 1, 4): 0, 0.0025, 0.005, 0.0075, 0.01
check "--lr-schedule warmup --decay-steps 4: the log's step rates are 0, 0.0025, 0.005, 0.0075, 0.01" \
    eval '[ "$rc" -eq 0 ] && [ "$(grep "\"event\": \"step\"" "$tmp/warm.jsonl" | sed "s/.*\"lr\": //; s/}//" | tr "\n" " ")" = "0 0.0025 0.005 0.0075 0.01 " ]'

# ------------------------------------------------------- parameter groups ---
# shellcheck disable=SC2086
run train $T --max-steps 3 --group 'conv*:lr=0.02,weight_decay=0,grad_centralization=1' --group 'fc3.*:lr=0' \
    --ckpt-dir "$tmp/ck-g"
check "two --group options: exit 0" eval '[ "$rc" -eq 0 ]'
[ "$rc" -eq 0 ] || sed 's/^/    /' "$tmp/err"
check "the epoch line lists the group rates (0.02, 0, default 0.01)" \
    eval 'grep -q "lr 0.01 (groups: 0.02 0 0.01)$" "$tmp/out"'
if command -v protoc >/dev/null 2>&1; then
    protoc --decode=CkptFile --proto_path="$repo/tests/ref" mindspore_checkpoint.proto <"$tmp/ck-g/checkpoint_lenet-1_3.ckpt" \
        >"$tmp/decg.txt" 2>/dev/null
    check "grouped checkpoint: learning_rate_group_0..2, then momentum, moments of conv*, fc3.*, then the rest" \
        eval 'grep "name:" "$tmp/decg.txt" | sed -n "11,21p" | tr -d "\" " | sed "s/name://" | tr "\n" " " |
              grep -qx "learning_rate_group_0 learning_rate_group_1 learning_rate_group_2 momentum moments.conv1.weight moments.conv1.bias moments.conv2.weight moments.conv2.bias moments.fc3.weight moments.fc3.bias moments.fc1.weight "'
fi
expect_error "a parameter in two groups: exit 2, names it" 2 "conv1.weight" "two groups" -- \
    train $T --max-steps 1 --group 'conv*' --group 'conv1.*' --ckpt-dir "$tmp/ck-e1"
expect_error "a pattern matching nothing: exit 2, names it" 2 "bn*" "matches no parameter" -- \
    train $T --max-steps 1 --group 'bn*:lr=0.1' --ckpt-dir "$tmp/ck-e2"
expect_error "--order-params missing names: exit 2" 2 "--order-params" -- \
    train $T --max-steps 1 --order-params conv1.weight --ckpt-dir "$tmp/ck-e3"

finish
