#!/usr/bin/env bash
# tests/test_inspect.sh - `lenet inspect` on a small generated IDX data set
# of a non-MNIST shape (5 images of 20x24, labels 3 1 4 1 5, image i filled
# with i*50): the tutorial's lines, per-class counts, exact pixel mean/std,
# the terminal preview, --png / --grid files (sizes checked and read back
# through our own PNG reader), --json, gzip files, option errors; then on
# real MNIST (when present) the tutorial's numbers: 60000 / 10000 items,
# (28, 28, 1), first labels 5 and 7, mean 0.1307 and std 0.3081.
# Ends with "N passed, M failed"; exits non-zero on failure.
# shellcheck disable=SC2016
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$lenet" ] || { fail "$lenet not built"; finish; }
make_tmp
cd "$tmp" || exit 1

has() { grep -qF -- "$1" "$tmp/out"; }
png_size() { # FILE: "W H" from the PNG's IHDR
    od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'
}
is_png() { [ "$(od -An -tx1 -N8 "$1" | tr -d ' ')" = 89504e470d0a1a0a ]; }

d=$tmp/small
mkdir -p "$d/train" "$d/test"
{ be32 2051; be32 5; be32 20; be32 24
  for v in 000 062 144 226 310; do head -c 480 /dev/zero | tr '\0' "\\$v"; done; } >"$d/train/train-images-idx3-ubyte"
{ be32 2049; be32 5; printf '\003\001\004\001\005'; } >"$d/train/train-labels-idx1-ubyte"
cp "$d/train/train-images-idx3-ubyte" "$d/test/t10k-images-idx3-ubyte"
cp "$d/train/train-labels-idx1-ubyte" "$d/test/t10k-labels-idx1-ubyte"
check "generated data set: 5 images of 20x24 (16 + 2400 bytes), pixel values 0 50 100 150 200" \
    eval '[ "$(wc -c <"$d/train/train-images-idx3-ubyte")" -eq 2416 ] &&
          [ "$(od -An -tu1 -j$((16 + 4 * 480)) -N1 "$d/train/train-images-idx3-ubyte" | tr -d " ")" = 200 ]'

run inspect --data "$d"
check "inspect: exit 0, nothing on stderr" eval '[ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ]'
check "inspect: the tutorial's lines (size 5, keys, shape (20, 24, 1), label 3)" \
    eval 'has "Number of pictures contained in the mnist_ds: 5" &&
          has "The item of mnist_ds: dict_keys(['"'"'image'"'"', '"'"'label'"'"'])" &&
          has "Tensor of image in item: (20, 24, 1)" && has "The label of item: 3"'
check "inspect: per-class counts 0: 0 1: 2 ... 5: 1 ... 9: 0" \
    eval 'has "per-class counts: 0: 0 1: 2 2: 0 3: 1 4: 1 5: 1 6: 0 7: 0 8: 0 9: 0"'
check "inspect: pixel mean 0.3922 (100/255), std 0.2773 (sqrt(5000)/255)" eval 'has "pixel mean 0.3922, std 0.2773"'
check "inspect: the preview of item 0 (all 0) is 20 blank lines after 'number: 3'" \
    eval '[ "$(grep -A20 "^number: 3$" "$tmp/out" | tail -n 20 | grep -c "^ *$")" -eq 20 ]'
run inspect --data "$d" --index 4
check "inspect --index 4: label 5; preview 20 lines of 24 dark-shade pairs (48 columns, fits 80)" \
    eval '[ "$rc" -eq 0 ] && has "The label of item: 5" &&
          [ "$(grep -c "^\(▓▓\)\{24\}$" "$tmp/out")" -eq 20 ]'

run inspect --data "$d" --index 4 --png "$tmp/item.png"
check "inspect --png: exit 0, names the file and the label" eval '[ "$rc" -eq 0 ] && has "wrote $tmp/item.png: item 4, number: 5"'
# 20x24 fits a 224 box at x9: 216 x 180; title "number: 5" at scale 3 is 159 wide, 24 high;
# margins 8 and a 1-pixel frame: 234 x (8 + 24 + 8 + 180 + 2 + 8) = 234 x 230.
check "inspect --png: a PNG of 234 x 230 (the image x9 under its title)" \
    eval 'is_png "$tmp/item.png" && [ "$(png_size "$tmp/item.png")" = "234 230" ]'
run inspect --image "$tmp/item.png" --json
check "... which our own reader reads back: 234 x 230" eval '[ "$rc" -eq 0 ] && has "\"width\": 234, \"height\": 230"'
run inspect --data "$d" --grid "$tmp/grid.png" --count 3
check "inspect --grid --count 3: a PNG, exit 0" eval '[ "$rc" -eq 0 ] && is_png "$tmp/grid.png" && has "the first 3 items"'
run inspect --data "$d" --grid "$tmp/grid100.png"
check "inspect --grid with the default 100 on 5 items: the 5 there are" eval '[ "$rc" -eq 0 ] && has "the first 5 items"'

run inspect --data "$d" --split test --index 2 --json
if command -v python3 >/dev/null 2>&1; then
    check "inspect --json: one valid object with the numbers" \
        eval '[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] && python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d[\"split\"] == \"test\" and d[\"size\"] == 5 and d[\"keys\"] == [\"image\", \"label\"], d
assert d[\"image_shape\"] == [20, 24, 1] and d[\"index\"] == 2 and d[\"label\"] == 4, d
assert d[\"class_counts\"] == [0, 2, 0, 1, 1, 1, 0, 0, 0, 0], d
assert abs(d[\"pixel_mean\"] - 100 / 255) < 1e-6 and abs(d[\"pixel_std\"] - 5000 ** 0.5 / 255) < 1e-6, d
assert d[\"png\"] is None and d[\"images\"].endswith(\"test/t10k-images-idx3-ubyte\"), d" <"$tmp/out"'
else
    check "inspect --json: one line with the label and shape" eval '[ "$rc" -eq 0 ] && has "\"image_shape\": [20, 24, 1], \"index\": 2, \"label\": 4"'
fi

mkdir -p "$tmp/gz"
gzip -c "$d/train/train-images-idx3-ubyte" >"$tmp/gz/train-images-idx3-ubyte.gz"
gzip -c "$d/train/train-labels-idx1-ubyte" >"$tmp/gz/train-labels-idx1-ubyte.gz"
run inspect --data "$tmp/gz"
check "inspect on .gz files in a flat folder: the same numbers" \
    eval '[ "$rc" -eq 0 ] && has "Tensor of image in item: (20, 24, 1)" && has "pixel mean 0.3922, std 0.2773"'

run inspect --data "$d" --index 5
check "--index 5 of 5 items: exit 2, one line naming --index and the size" eval '[ "$rc" -eq 2 ] && err_is_line "--index" "5 items"'
run inspect --data "$d" --split valid
check "--split valid: exit 2, one line naming --split" eval '[ "$rc" -eq 2 ] && err_is_line "--split" "valid"'
run inspect --data "$d" --count 0
check "--count 0: exit 2, one line naming --count" eval '[ "$rc" -eq 2 ] && err_is_line "--count"'
run inspect --data "$d" --index -1
check "--index -1: exit 2, one line naming --index" eval '[ "$rc" -eq 2 ] && err_is_line "--index"'
run inspect --data "$tmp/nope"
check "--data missing folder: exit 2, one line naming it" eval '[ "$rc" -eq 2 ] && err_is_line "$tmp/nope"'
run inspect --data "$d" --png "$tmp/no/such/dir/x.png"
check "--png into a missing folder: exit 1, one line naming the path" \
    eval '[ "$rc" -eq 1 ] && err_is_line "$tmp/no/such/dir/x.png"'
run inspect --data "$d" stray
check "a stray argument: exit 2, one line naming it" eval '[ "$rc" -eq 2 ] && err_is_line "stray"'
run inspect --image "$tmp/item.png" --grid "$tmp/g.png"
check "--grid with --image: exit 2, one line" eval '[ "$rc" -eq 2 ] && err_is_line "--grid" "--image"'
run inspect --image "$tmp/missing.png"
check "--image missing file: exit 2, one line naming it" eval '[ "$rc" -eq 2 ] && err_is_line "$tmp/missing.png"'
run inspect --help
check "inspect --help: exit 0, lists every option" \
    eval '[ "$rc" -eq 0 ] && has "--data" && has "--split" && has "--index" && has "--png" && has "--grid" && has "--count" && has "--json" && has "--image"'
run train --data "$d" --max-steps 1 --threads 1 --ckpt-dir "$tmp/ck"
check "train on 20x24 images: exit 2, one line saying LeNet-5 needs 28x28" eval '[ "$rc" -eq 2 ] && err_is_line "28x28"'

require_mnist
run inspect --data "$mnist"
check "MNIST train: the tutorial's lines (60000, (28, 28, 1), label 5)" \
    eval '[ "$rc" -eq 0 ] && has "Number of pictures contained in the mnist_ds: 60000" &&
          has "Tensor of image in item: (28, 28, 1)" && has "The label of item: 5"'
check "MNIST train: pixel mean 0.1307, std 0.3081 (the tutorial's Normalize constants)" \
    eval 'has "pixel mean 0.1307, std 0.3081"'
check "MNIST train: per-class counts" \
    eval 'has "per-class counts: 0: 5923 1: 6742 2: 5958 3: 6131 4: 5842 5: 5421 6: 5918 7: 6265 8: 5851 9: 5949"'
run inspect --data "$mnist" --split test --png "$tmp/m.png" --grid "$tmp/mg.png"
check "MNIST test: 10000 items, label 7; item PNG 242 x 274 (28x28 x8 under the title), a grid PNG" \
    eval '[ "$rc" -eq 0 ] && has "Number of pictures contained in the mnist_ds: 10000" && has "The label of item: 7" &&
          [ "$(png_size "$tmp/m.png")" = "242 274" ] && is_png "$tmp/mg.png"'
finish
