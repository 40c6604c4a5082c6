#!/usr/bin/env bash
# tests/test_predict.sh - `lenet predict` on pictures of MNIST test digits
# (as they are, inverted, enlarged, as `inspect --png` draws them) must give
# the digits `lenet eval` gives;
# its output formats and errors. Trains a small model on a subset of MNIST.
#
# Uses $BUILD/lenet (BUILD defaults to build) and MNIST in $MNIST_DIR
# (default datasets/MNIST_Data). Works in a temporary folder only. Prints
# one line per check and ends with "N passed, M failed".
# shellcheck disable=SC2016
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$lenet" ] || { fail "$lenet not built"; finish; }
make_tmp
cd "$tmp" || exit 1

require_mnist

# A subset: 640 train images (20 steps of 32 per epoch), 100 test images.
data=$tmp/mnist
mnist_subset "$data" 640 100
T="--data $data --threads 1 --print-every 0"

# ---------------------------------------------------------------------- predict ---
# The first 20 test images written out as pictures (a tiny PGM writer, in
# perl): as they are, inverted (dark ink on white), and enlarged x3 and
# inverted (84x84). `lenet predict` must give the digit `lenet eval` gives
# each image (eval on 20 one-image data sets: the predicted class is the
# non-zero column of its confusion matrix).
if command -v perl >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    pgm() { # INDEX SCALE INVERT > file.pgm
        tail -c +$((17 + $1 * 784)) "$data/test/t10k-images-idx3-ubyte" | head -c 784 |
            perl -e 'binmode STDIN; binmode STDOUT; read(STDIN, $b, 784); ($s, $inv) = @ARGV;
                     print "P5\n" . (28 * $s) . " " . (28 * $s) . "\n255\n";
                     for $y (0 .. 28 * $s - 1) { for $x (0 .. 28 * $s - 1) {
                         $v = ord(substr($b, int($y / $s) * 28 + int($x / $s), 1));
                         print chr($inv ? 255 - $v : $v) } }' "$2" "$3"
    }
    # A model that has learned something (92% on the 100 test images).
    # shellcheck disable=SC2086
    "$lenet" train $T --epochs 8 --lr 0.03 --save-steps 1000 --ckpt-dir "$tmp/Q" >/dev/null 2>&1
    ckA=$tmp/Q/checkpoint_lenet-8_20.ckpt
    want=""
    for i in $(seq 0 19); do
        mkdir -p "$tmp/one$i/test"
        { be32 2051; be32 1; be32 28; be32 28; tail -c +$((17 + i * 784)) "$data/test/t10k-images-idx3-ubyte" | head -c 784; } \
            >"$tmp/one$i/test/t10k-images-idx3-ubyte"
        { be32 2049; be32 1; tail -c +$((9 + i)) "$data/test/t10k-labels-idx1-ubyte" | head -c 1; } \
            >"$tmp/one$i/test/t10k-labels-idx1-ubyte"
        "$lenet" eval --data "$tmp/one$i" --ckpt "$ckA" --threads 1 --json >"$tmp/e$i.json"
        want="$want $(python3 -c 'import json,sys; m = json.load(open(sys.argv[1]))["confusion_matrix"]
print([c for r in m for c in range(10) if r[c]][0])' "$tmp/e$i.json")"
        pgm "$i" 1 0 >"$tmp/p$i.pgm"
        pgm "$i" 1 1 >"$tmp/n$i.pgm"
        pgm "$i" 3 1 >"$tmp/b$i.pgm"
        "$lenet" inspect --data "$tmp/one$i" --split test --png "$tmp/t$i.png" >/dev/null
    done
    for kind in p n b t; do
        ext=pgm; [ $kind = t ] && ext=png
        run predict --ckpt "$ckA" --threads 1 --json $(for i in $(seq 0 19); do echo "$tmp/$kind$i.$ext"; done)
        got=$(python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["digit"]) for l in sys.stdin))' <"$tmp/out")
        case $kind in p) what="as they are (28x28)" ;; n) what="inverted (dark on light)" ;; b) what="enlarged x3 (84x84), inverted" ;;
            t) what="as \`lenet inspect --png\` draws them (x8, framed, under a title)" ;; esac
        check "predict on 20 test images $what: the digits eval gives ($want )" \
            eval '[ "$rc" -eq 0 ] && [ " $got" = "$want" ] && [ "$(echo $want | tr " " "\n" | sort -u | wc -l)" -ge 8 ]'
        [ " $got" = "$want" ] || echo "    predict: $got"
    done
    check "predict --json: one object per image with file, digit and 10 probabilities summing to 1" \
        python3 -c '
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
assert len(ls) == 20
for d in ls:
    assert list(d) == ["file", "digit", "probabilities"] and len(d["probabilities"]) == 10
    assert abs(sum(d["probabilities"]) - 1) < 1e-4 and d["digit"] == max(range(10), key=lambda k: d["probabilities"][k])
' "$tmp/out"
    run predict --ckpt "$ckA" --threads 1 "$tmp/n0.pgm"
    check "predict (text): 'FILE: DIGIT   (top-3 with percentages)'" \
        eval '[ "$rc" -eq 0 ] && grep -qE "^$tmp/n0.pgm: [0-9]   \([0-9] [0-9.]+%, [0-9] [0-9.]+%, [0-9] [0-9.]+%\)$" "$tmp/out"'
    printf 'P5\n4 4\n255\n' >"$tmp/flat.pgm"; head -c 16 /dev/zero | tr '\0' '\200' >>"$tmp/flat.pgm"
    expect_error "predict on a blank picture: exit 2, names it" 2 "$tmp/flat.pgm" "no digit" -- \
        predict --ckpt "$ckA" "$tmp/flat.pgm"
    printf 'P5\n4 4\n255\n' >"$tmp/short.pgm"
    expect_error "predict on a truncated PGM: exit 2, names it" 2 "$tmp/short.pgm" -- predict --ckpt "$ckA" "$tmp/short.pgm"
    # eval reads the test images as it evaluates them (ln_lenet_eval_stream):
    # a gzip file cut short inside its images is found on the way; exit 2,
    # one line naming it, and no result printed.
    mkdir -p "$tmp/cut/test"
    gzip -c "$data/test/t10k-images-idx3-ubyte" >"$tmp/whole.gz"
    head -c $(($(wc -c <"$tmp/whole.gz") / 2)) "$tmp/whole.gz" >"$tmp/cut/test/t10k-images-idx3-ubyte.gz"
    cp "$data/test/t10k-labels-idx1-ubyte" "$tmp/cut/test/"
    expect_error "eval on a gzip test set cut short: exit 2, names it" 2 "t10k-images-idx3-ubyte.gz" -- \
        eval --data "$tmp/cut" --ckpt "$ckA" --threads 1
    check "... and prints no result" eval '[ ! -s "$tmp/out" ]'
    run eval --data "$tmp/cut" --ckpt "$ckA" --threads 1 --json
    check "... nor with --json" eval '[ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ]'
else
    echo "skip: predict vs eval (perl or python3 not found)"
fi
expect_error "predict without an image: exit 2" 2 "IMAGE" -- predict --ckpt x.ckpt

finish
