#!/usr/bin/env bash
# tests/test_cli.sh - the `lenet` command line: exit codes (0 ok, 1 runtime
# failure, 2 bad usage or input), one-line stderr messages that name the
# option, file or tensor at fault, `summary` output, and a short real
# train -> eval run with checkpoint naming.
#
# Uses $BUILD/lenet (BUILD defaults to build) and MNIST in $MNIST_DIR
# (default datasets/MNIST_Data; the real-run checks are skipped without it).
# Works in temporary folders only. Prints one line per check and ends with
# "N passed, M failed"; exits non-zero if a check failed.

# Conditions passed to check() in single quotes are eval'd there, after the
# command they test has run.
# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$lenet" ] || { fail "$lenet not built (make $BUILD/lenet)"; finish; }

make_tmp
cd "$tmp" || exit 1 # nothing may land in the repository

has_json() { command -v python3 >/dev/null 2>&1 && python3 -c 'import json' 2>/dev/null; }

# ------------------------------------------------------------- usage ---

expect_error "unknown command: exit 2, one line naming it" 2 "frobnicate" -- frobnicate
run
check "no command: exit 2, usage on stderr" eval '[ "$rc" -eq 2 ] && grep -q "usage: lenet" "$tmp/err"'
run --help
check "lenet --help: exit 0, usage on stdout" eval '[ "$rc" -eq 0 ] && grep -q "usage: lenet" "$tmp/out" && [ ! -s "$tmp/err" ]'
for cmd in train eval summary; do
    expect_error "$cmd --bogus: exit 2, one line naming the option" 2 "bogus" -- "$cmd" --bogus
    run "$cmd" --help
    check "$cmd --help: exit 0, usage on stdout, nothing on stderr" \
        eval '[ "$rc" -eq 0 ] && grep -q "usage: lenet $cmd" "$tmp/out" && [ ! -s "$tmp/err" ]'
done
expect_error "train stray argument: exit 2" 2 "extra" -- train extra
expect_error "train --epochs 0: exit 2, names --epochs" 2 "--epochs" "0" -- train --epochs 0
expect_error "train --epochs abc: exit 2, names --epochs" 2 "--epochs" "abc" -- train --epochs abc
expect_error "train --epochs 1x: exit 2 (trailing junk)" 2 "--epochs" -- train --epochs 1x
expect_error "train --lr -1: exit 2, names --lr" 2 "--lr" "-1" -- train --lr -1
expect_error "train --lr nan: exit 2, names --lr" 2 "--lr" -- train --lr nan
expect_error "train --batch-size 0: exit 2, names --batch-size" 2 "--batch-size" -- train --batch-size 0
expect_error "train --threads 0: exit 2, names --threads" 2 "--threads" -- train --threads 0
expect_error "train --conv-bias maybe: exit 2, names --conv-bias" 2 "--conv-bias" "maybe" -- train --conv-bias maybe
expect_error "train --seed -5: exit 2, names --seed" 2 "--seed" -- train --seed -5
expect_error "train --momentum x: exit 2, names --momentum" 2 "--momentum" -- train --momentum x
expect_error "train --prefix a/b: exit 2, names --prefix" 2 "--prefix" -- train --prefix a/b
expect_error "train --epochs (no value): exit 2" 2 "epochs" -- train --epochs

# Library messages name settings (`batch_size`, `seed=5`), never the CLI's
# flags; the CLI shows them as flags (the checks naming flags in library
# errors, here and in test_train_cli.sh).
lib_flags=$(cd "$repo" && find src -name '*.c' -not -path 'src/cli/*' -exec grep -Hn -e '"--' -e '--[a-z]' {} +)
check "no library source names a CLI flag${lib_flags:+: $lib_flags}" [ -z "$lib_flags" ]
expect_error "eval --batch-size 0: exit 2, names --batch-size" 2 "--batch-size" -- eval --batch-size 0 --ckpt x
expect_error "eval --threads 0: exit 2, names --threads" 2 "--threads" -- eval --threads 0 --ckpt x
expect_error "eval --conv-bias maybe: exit 2, names --conv-bias" 2 "--conv-bias" -- eval --conv-bias maybe --ckpt x
expect_error "summary --conv-bias maybe: exit 2, names --conv-bias" 2 "--conv-bias" -- summary --conv-bias maybe
expect_error "eval without --ckpt: exit 2, names --ckpt" 2 "--ckpt" -- eval

# ----------------------------------------------------------- summary ---

run summary
check "summary: exit 0, total 61706 (conv bias on)" \
    eval '[ "$rc" -eq 0 ] && grep -q "total params: 61706" "$tmp/out" && [ ! -s "$tmp/err" ]'
check "summary: the layer table lists conv1 .. fc3 with their parameter counts" \
    eval 'grep -qE "^conv1 +\(6, 28, 28\) +156$" "$tmp/out" && grep -qE "^fc1 +\(120\) +48120$" "$tmp/out" &&
          grep -qE "^fc3 +\(10\) +850$" "$tmp/out"'
run summary --conv-bias off
check "summary --conv-bias off: total 61684" eval '[ "$rc" -eq 0 ] && grep -q "total params: 61684" "$tmp/out"'
run summary --json
if has_json; then
    check "summary --json: valid JSON with total_params 61706" \
        eval '[ "$rc" -eq 0 ] && python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"total_params\"] == 61706, d; assert len(d[\"layers\"]) >= 5" <"$tmp/out"'
else
    skip "summary --json validity (python3 not found)"
    check "summary --json: one object with total_params 61706" \
        eval '[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -q "\"total_params\": 61706}" "$tmp/out"'
fi
run summary --json --conv-bias off
check "summary --json --conv-bias off: total_params 61684" eval '[ "$rc" -eq 0 ] && grep -q "\"total_params\": 61684" "$tmp/out"'

# ------------------------------------------------------- bad data sets ---

expect_error "train --data /nonexistent: exit 2, names the path and the flag" 2 "/nonexistent" "--data DIR" -- \
    train --data /nonexistent --threads 1
expect_error "eval --data /nonexistent: exit 2, names the path" 2 "/nonexistent" -- \
    eval --data /nonexistent --ckpt /nonexistent.ckpt --conv-bias on --threads 1
mkdir -p "$tmp/empty"
expect_error "train --data <folder without MNIST>: exit 2, names the folder" 2 "$tmp/empty" -- train --data "$tmp/empty" --threads 1

# idx_images N: an IDX images header for N 28x28 images (bytes on stdout).
idx_images() { be32 2051; be32 "$1"; be32 28; be32 28; head -c $(($1 * 784)) /dev/zero | tr '\0' '\100'; }
idx_labels() { be32 2049; be32 "$1"; head -c "$1" /dev/zero; }
make_data() { # DIR: a small valid MNIST layout (64 train, 16 test images)
    mkdir -p "$1/train" "$1/test"
    idx_images 64 >"$1/train/train-images-idx3-ubyte"
    idx_labels 64 >"$1/train/train-labels-idx1-ubyte"
    idx_images 16 >"$1/test/t10k-images-idx3-ubyte"
    idx_labels 16 >"$1/test/t10k-labels-idx1-ubyte"
}
make_data "$tmp/small"
check "the generated small data set is well formed (64*784+16 bytes)" \
    eval '[ "$(wc -c <"$tmp/small/train/train-images-idx3-ubyte")" -eq $((64 * 784 + 16)) ]'
run train --data "$tmp/small" --max-steps 1 --ckpt-dir "$tmp/small-ck" --print-every 0 --threads 1
check "train on the small generated data set: exit 0 (the fixture is valid)" eval '[ "$rc" -eq 0 ]'

make_data "$tmp/trunc"
f=$tmp/trunc/train/train-images-idx3-ubyte
head -c 30000 "$f" >"$f.cut" && mv "$f.cut" "$f"
expect_error "truncated train-images: exit 2, one line naming the file" 2 "$f" -- \
    train --data "$tmp/trunc" --threads 1 --ckpt-dir "$tmp/ck-trunc"
check "truncated train-images: no checkpoint folder created" eval '[ ! -e "$tmp/ck-trunc" ]'
make_data "$tmp/badlabel"
printf '\310' | dd of="$tmp/badlabel/test/t10k-labels-idx1-ubyte" bs=1 seek=12 conv=notrunc 2>/dev/null
expect_error "label 200 in t10k-labels: exit 2, names the file" 2 "t10k-labels-idx1-ubyte" -- \
    train --data "$tmp/badlabel" --threads 1 --ckpt-dir "$tmp/ck-badlabel"

make_data "$tmp/gz"
f=$tmp/gz/train/train-images-idx3-ubyte
# Real pixels compress into a long deflate stream; corrupt its middle.
{ be32 2051; be32 64; be32 28; be32 28; if [ -f "$mnist/test/t10k-images-idx3-ubyte" ]; then
    tail -c +17 "$mnist/test/t10k-images-idx3-ubyte" | head -c $((64 * 784)); else
    awk 'BEGIN { for (i = 0; i < 64 * 784; i++) printf "%c", (i * 7 + int(i / 13)) % 200 + 32 }'; fi; } >"$f"
gzip -9 -n "$f"
size=$(wc -c <"$f.gz")
printf '\377\377\377\377' | dd of="$f.gz" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_error "corrupt train-images-idx3-ubyte.gz: exit 2, one line naming the file" 2 "$f.gz" -- \
    train --data "$tmp/gz" --threads 1 --ckpt-dir "$tmp/ck-gz"
make_data "$tmp/gzt"
f=$tmp/gzt/test/t10k-images-idx3-ubyte
gzip -9 -n "$f"
head -c 40 "$f.gz" >"$f.cut" && mv "$f.cut" "$f.gz"
expect_error "truncated t10k-images-idx3-ubyte.gz: exit 2, names the file" 2 "$f.gz" -- \
    train --data "$tmp/gzt" --threads 1 --ckpt-dir "$tmp/ck-gzt"

# --------------------------------------------------------- checkpoints ---

expect_error "eval with a missing checkpoint: exit 2, names it" 2 "$tmp/nope.ckpt" -- \
    eval --data "$mnist" --ckpt "$tmp/nope.ckpt" --threads 1
: >"$tmp/empty.ckpt"
expect_error "eval with an empty checkpoint: exit 2, names it" 2 "$tmp/empty.ckpt" -- \
    eval --data "$mnist" --ckpt "$tmp/empty.ckpt" --threads 1

require_mnist "train/eval run not tested"

# The real-run checks use a subset of the real MNIST (2,000 train and 336
# test images, MindSpore layout): each train/eval evaluates the whole test
# split, which takes seconds per run under AddressSanitizer.
data=$tmp/mnist-subset
mnist_subset "$data" 2000 336
check "MNIST subset made (2000 + 336 images, first train label 5, first test label 7)" \
    eval '[ "$(wc -c <"$data/train/train-images-idx3-ubyte")" -eq $((2000 * 784 + 16)) ] &&
          [ "$(wc -c <"$data/test/t10k-labels-idx1-ubyte")" -eq 344 ] &&
          [ "$(od -An -tu1 -j8 -N1 "$data/train/train-labels-idx1-ubyte" | tr -d " ")" = 5 ] &&
          [ "$(od -An -tu1 -j8 -N1 "$data/test/t10k-labels-idx1-ubyte" | tr -d " ")" = 7 ]'

ck=$tmp/ck
run train --data "$data" --max-steps 20 --print-every 10 --ckpt-dir "$ck" --json --threads 1
first=$ck/checkpoint_lenet-1_20.ckpt
check "train --max-steps 20 --json: exit 0" eval '[ "$rc" -eq 0 ]'
[ "$rc" -eq 0 ] || sed 's/^/    /' "$tmp/err"
check "train --json: an epoch event with steps 20 on stdout" \
    eval 'grep -qE "^\{\"event\": \"epoch\", \"epoch\": 1, \"steps\": 20, \"loss\": [0-9.]+, \"test_accuracy\": [0-9.]+" "$tmp/out"'
check "train --json: a done line with the checkpoint path, which exists" \
    eval 'grep -qxF "{\"event\": \"done\", \"checkpoint\": \"$first\"}" "$tmp/out" && [ -s "$first" ]'
check "train --json: stdout holds only the 2 JSON lines; LossMonitor lines at steps 10, 20 on stderr" \
    eval '[ "$(wc -l <"$tmp/out")" -eq 2 ] && grep -qE "^epoch: 1 step: 10, loss is [0-9.]+$" "$tmp/err" &&
          grep -qE "^epoch: 1 step: 20, loss is [0-9.]+$" "$tmp/err" && [ "$(grep -c "loss is" "$tmp/err")" -eq 2 ]'
if has_json; then
    check "train --json: every stdout line is valid JSON" \
        eval 'python3 -c "import json,sys; [json.loads(l) for l in sys.stdin]" <"$tmp/out"'
fi
cp "$first" "$tmp/first.copy" 2>/dev/null

run train --data "$data" --max-steps 2 --print-every 0 --ckpt-dir "$ck" --json --threads 1 --seed 2
second=$ck/checkpoint_lenet_1-1_2.ckpt
check "second run in the same folder writes checkpoint_lenet_1-1_2.ckpt" \
    eval '[ "$rc" -eq 0 ] && [ -s "$second" ] && grep -qF "\"checkpoint\": \"$second\"" "$tmp/out"'
check "... and leaves the first checkpoint untouched" cmp -s "$first" "$tmp/first.copy"
check "... and nothing else (2 files, no temp files)" eval '[ "$(ls "$ck" | wc -l)" -eq 2 ]'

run eval --data "$data" --ckpt "$first" --json --threads 1
if has_json; then
    check "eval --json: accuracy, loss, correct, total (336), per_class_*, confusion_matrix" \
        eval '[ "$rc" -eq 0 ] && python3 -c "
import json, sys
d = json.load(sys.stdin)
assert set(d) >= {\"accuracy\", \"loss\", \"correct\", \"total\"}, d
assert d[\"total\"] == 336 and 0 <= d[\"correct\"] <= 336, d
assert abs(d[\"accuracy\"] - d[\"correct\"] / 336) < 1e-6, d
m = d[\"confusion_matrix\"]
assert len(m) == 10 and all(len(r) == 10 for r in m), d
assert sum(map(sum, m)) == 336 and sum(m[c][c] for c in range(10)) == d[\"correct\"], d
assert [sum(r) for r in m] == d[\"per_class_total\"], d
assert all(a is None or abs(a - m[c][c] / sum(m[c])) < 1e-6 for c, a in enumerate(d[\"per_class_accuracy\"])), d
assert d[\"loss\"] > 0, d" <"$tmp/out"'
else
    check "eval --json: accuracy, loss, correct, total (336) keys" \
        eval '[ "$rc" -eq 0 ] && grep -qE "^\{\"accuracy\": [0-9.]+, \"loss\": [0-9.]+, \"correct\": [0-9]+, \"total\": 336\}$" "$tmp/out"'
fi
# MindSpore's evaluation counts only full batches of 32: 10 * 32 = 320 of
# 336 (9984 of the full 10000).
run eval --data "$data" --ckpt "$first" --threads 1 --mindspore-count
check "eval --mindspore-count (text): first line with the checkpoint path and n/320" \
    eval '[ "$rc" -eq 0 ] && head -n 1 "$tmp/out" | grep -qE "^checkpoint $first: accuracy [0-9.]+% \([0-9]+/320\), loss [0-9.]+$"'
# The class counts of the 320: per-class totals add up, the matrix holds them.
check "eval (text): per-class accuracy for 0-9 and a 10x10 confusion matrix whose rows sum to 320" \
    eval '[ "$(wc -l <"$tmp/out")" -eq 24 ] && grep -qE "^  9: +[0-9.]+% \([0-9]+/[0-9]+\)$" "$tmp/out" &&
          [ "$(tail -n 10 "$tmp/out" | awk "{ for (i = 3; i <= NF; i++) s += \$i } END { print s }")" -eq 320 ]'

head -c 100000 "$first" >"$tmp/trunc.ckpt"
expect_error "eval with a truncated checkpoint: exit 2, one line naming it" 2 "$tmp/trunc.ckpt" -- \
    eval --data "$data" --ckpt "$tmp/trunc.ckpt" --threads 1
expect_error "eval --conv-bias off of a conv-bias checkpoint: exit 2" 2 "conv" -- \
    eval --data "$data" --ckpt "$first" --conv-bias off --threads 1
if command -v perl >/dev/null 2>&1; then
    # fc1.weight's dims (120, 400) = 08 78 08 90 03 -> (100, 480) = 08 64 08 E0 03:
    # same size, same element count, a well-formed checkpoint of the wrong shape.
    perl -0777 -pe 's/\x08\x78\x08\x90\x03(?=\x12\x07Float32)/\x08\x64\x08\xE0\x03/' "$first" >"$tmp/shape.ckpt"
    check "made a checkpoint with fc1.weight (100, 480)" eval '! cmp -s "$first" "$tmp/shape.ckpt"'
    expect_error "eval with a wrong-shape checkpoint: exit 2, names fc1.weight and both shapes" 2 \
        "fc1.weight" "(100, 480)" "(120, 400)" -- eval --data "$data" --ckpt "$tmp/shape.ckpt" --threads 1
    expect_error "train --init with a wrong-shape checkpoint: exit 2, names fc1.weight" 2 "fc1.weight" -- \
        train --data "$data" --init "$tmp/shape.ckpt" --threads 1 --ckpt-dir "$tmp/ck-init"
else
    skip "wrong-shape checkpoint (perl not found)"
fi
mkdir -p "$tmp/ro-parent"
: >"$tmp/ro-parent/file"
run train --data "$data" --max-steps 1 --ckpt-dir "$tmp/ro-parent/file/sub" --threads 1
check "train --ckpt-dir under a regular file: exit 2, one line naming --ckpt-dir" \
    eval '[ "$rc" -eq 2 ] && err_is_line "--ckpt-dir"'

finish
