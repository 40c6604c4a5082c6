#!/usr/bin/env bash
# tests/test_ckpt_protoc.sh - decode a checkpoint written by `lenet train`
# with Google's protoc and tests/ref/mindspore_checkpoint.proto, and check the
# entries' names (in order), dims and dtypes. This checks our writer against
# a real protobuf implementation, not only against our own reader.
#
# Needs protoc (Debian: protobuf-compiler); without it every check is skipped
# and the test passes with "0 passed, 0 failed". Needs $BUILD/lenet (BUILD
# defaults to build) and MNIST in $MNIST_DIR (default datasets/MNIST_Data).
# Works in a temporary folder only. Prints one line per check and ends with
# "N passed, M failed"; exits non-zero if a check failed.

# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
proto_dir=$repo/tests/ref

if ! command -v protoc >/dev/null 2>&1; then
    skip "protoc not installed (apt-get install protobuf-compiler): checkpoint decoding not tested"
    finish
fi
if [ ! -x "$lenet" ]; then
    fail "$lenet not built (make $BUILD/lenet)"
    finish
fi
if [ ! -f "$proto_dir/mindspore_checkpoint.proto" ]; then
    fail "tests/ref/mindspore_checkpoint.proto missing"
    finish
fi
if [ ! -d "$mnist" ]; then
    skip "MNIST not found at $mnist (make data): checkpoint decoding not tested"
    finish
fi

make_tmp

# The proto file itself compiles (descriptor set written without errors).
check "protoc parses tests/ref/mindspore_checkpoint.proto" \
    protoc --proto_path="$proto_dir" --descriptor_set_out="$tmp/ckpt.desc" mindspore_checkpoint.proto

# decode CKPT OUT: protoc text format of CKPT into OUT; returns protoc's status.
decode() {
    protoc --decode=CkptFile --proto_path="$proto_dir" mindspore_checkpoint.proto <"$1" >"$2" 2>"$2.err"
}

# summarize TEXT: one line per entry, "name dims... type", from protoc's output.
summarize() {
    awk '
        /^entries \{/          { name = ""; dims = ""; type = ""; next }
        /^  name: /            { s = $0; sub(/^  name: "/, "", s); sub(/"$/, "", s); name = s; next }
        /^    dims: /          { dims = dims " " $2; next }
        /^    tensor_type: /   { s = $0; sub(/^    tensor_type: "/, "", s); sub(/"$/, "", s); type = s; next }
        /^}/                   { print name dims " " type }
    ' "$1"
}

expected_entries() { # $1 = on|off (conv bias)
    local p
    for p in params moments; do
        local pre=""
        [ "$p" = moments ] && pre="moments."
        echo "${pre}conv1.weight 6 1 5 5 Float32"
        [ "$1" = on ] && echo "${pre}conv1.bias 6 Float32"
        echo "${pre}conv2.weight 16 6 5 5 Float32"
        [ "$1" = on ] && echo "${pre}conv2.bias 16 Float32"
        echo "${pre}fc1.weight 120 400 Float32"
        echo "${pre}fc1.bias 120 Float32"
        echo "${pre}fc2.weight 84 120 Float32"
        echo "${pre}fc2.bias 84 Float32"
        echo "${pre}fc3.weight 10 84 Float32"
        echo "${pre}fc3.bias 10 Float32"
        if [ "$p" = params ]; then
            echo "learning_rate 0 Float32"
            echo "momentum 0 Float32"
        fi
    done
    # The training position (lenet's own entries, after MindSpore's).
    local e
    for e in epoch step steps_per_epoch global_step seed batch_size shuffle rows; do
        echo "train.$e 0 Int32"
    done
    echo "train.order_hash 2 Int32"
    echo "train.shuffle_rng 625 Int32"
}

# Train on a subset of the real MNIST (640 train, 100 test images): `train`
# evaluates the whole test split, which is slow under AddressSanitizer.
data=$tmp/mnist-subset
mnist_subset "$data" 640 100

for cb in on off; do
    dir=$tmp/ckpt-$cb
    "$lenet" train --data "$data" --max-steps 5 --ckpt-dir "$dir" --print-every 0 --threads 1 \
        --conv-bias "$cb" >"$tmp/train-$cb.log" 2>&1
    rc=$?
    ckpt=$(find "$dir" -name '*.ckpt' 2>/dev/null | head -n 1)
    check "(conv bias $cb) lenet train --max-steps 5 exits 0 and writes one .ckpt" \
        eval '[ "$rc" -eq 0 ] && [ -n "$ckpt" ] && [ "$(find "$dir" -name "*.ckpt" | wc -l)" -eq 1 ]'
    if [ -z "$ckpt" ]; then
        sed 's/^/    /' "$tmp/train-$cb.log"
        continue
    fi
    decode "$ckpt" "$tmp/dec-$cb.txt"
    drc=$?
    check "(conv bias $cb) protoc --decode=CkptFile decodes the checkpoint without error" \
        eval '[ "$drc" -eq 0 ] && [ ! -s "$tmp/dec-$cb.txt.err" ]'
    [ "$drc" -eq 0 ] || sed 's/^/    /' "$tmp/dec-$cb.txt.err"
    summarize "$tmp/dec-$cb.txt" >"$tmp/got-$cb.txt"
    expected_entries "$cb" >"$tmp/want-$cb.txt"
    n=$(wc -l <"$tmp/want-$cb.txt")
    check "(conv bias $cb) $n entries: names in order, dims and dtype Float32 as MindSpore" \
        cmp -s "$tmp/got-$cb.txt" "$tmp/want-$cb.txt"
    cmp -s "$tmp/got-$cb.txt" "$tmp/want-$cb.txt" || diff "$tmp/want-$cb.txt" "$tmp/got-$cb.txt" | head -n 20
    # Every entry has tensor_content; no unknown fields (protoc prints
    # unknown fields as bare numbers, e.g. "4: 1").
    check "(conv bias $cb) every entry has tensor_content, no unknown fields" \
        eval '[ "$(grep -c "^    tensor_content: " "$tmp/dec-$cb.txt")" -eq "$n" ] &&
              ! grep -qE "^ *[0-9]+: " "$tmp/dec-$cb.txt"'
    # learning_rate = 0.01f: bytes 0A D7 23 3C, printed by protoc as "\n\327#<".
    check "(conv bias $cb) learning_rate content is 0.01f (0A D7 23 3C)" \
        eval 'grep -A4 "name: \"learning_rate\"" "$tmp/dec-$cb.txt" | grep -qF "tensor_content: \"\\n\\327#<\""'
    # Re-encoding protoc's text gives the same bytes: the file is canonical
    # protobuf (field order, non-packed dims, minimal varints).
    protoc --encode=CkptFile --proto_path="$proto_dir" mindspore_checkpoint.proto \
        <"$tmp/dec-$cb.txt" >"$tmp/re-$cb.ckpt" 2>/dev/null
    check "(conv bias $cb) protoc --encode of the decoded text reproduces the file byte for byte" \
        cmp -s "$tmp/re-$cb.ckpt" "$ckpt"
done

finish
