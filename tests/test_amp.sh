#!/usr/bin/env bash
# test_amp.sh - `lenet train --amp-level O2` (bf16 products, float32
# accumulation): a few hundred steps are bit-identical with 1 and 2 threads
# and between runs, the loss stays close to float32's, the level is echoed,
# logged and kept in the checkpoint, a resume at another level is refused,
# and levels without a meaning here are refused.
set -u
. "$(dirname "$0")/lib.sh"
make_tmp

expect_error "--amp-level O1: exit 2, names the option and the accepted values" 2 "--amp-level" "O1" "O0" "O2" -- \
    train --amp-level O1
expect_error "--amp-level O3: exit 2" 2 "--amp-level" "O3" -- train --amp-level O3
run train --help
check "train --help documents --amp-level" grep -q -- "--amp-level O0|O2" "$tmp/out"

require_mnist "O2 training"
mnist_subset "$tmp/d" 3200 200
# 300 steps: 3 epochs of 100 batches of 32
T=(train --data "$tmp/d" --epochs 3 --print-every 0 --progress off --save-steps 100000 --eval-every 0)
run "${T[@]}" --amp-level O2 --threads 1 --ckpt-dir "$tmp/a1" --log "$tmp/a1.jsonl" --json
cp "$tmp/out" "$tmp/a1.out"
check "O2, 1 thread: exit 0" [ "$rc" -eq 0 ]
check "O2: the config echo says amp_level=O2" grep -q "amp_level=O2" "$tmp/err"
check "O2: the network line names the bf16 kernels" grep -q "bf16 products" "$tmp/err"
check "O2: the log's config line has \"amp_level\": \"O2\"" grep -q '"amp_level": "O2"' "$tmp/a1.jsonl"
run "${T[@]}" --amp-level O2 --threads 2 --ckpt-dir "$tmp/a2"
check "O2, 2 threads: exit 0" [ "$rc" -eq 0 ]
run "${T[@]}" --amp-level O2 --threads 2 --ckpt-dir "$tmp/a3"
ck1=$(ls "$tmp"/a1/*.ckpt | tail -1) ck2=$(ls "$tmp"/a2/*.ckpt | tail -1) ck3=$(ls "$tmp"/a3/*.ckpt | tail -1)
check "O2: 1 and 2 threads give the same checkpoint, byte for byte" cmp -s "$ck1" "$ck2"
check "O2: two runs give the same checkpoint, byte for byte" cmp -s "$ck2" "$ck3"
check "O2: the checkpoint carries train.amp_level" grep -q "train.amp_level" "$ck1"

# batch 16: one group, which 2 threads would share stage by stage at O0
B16=(train --data "$tmp/d" --batch-size 16 --max-steps 60 --print-every 0 --progress off --eval-every 0 --amp-level O2)
run "${B16[@]}" --threads 1 --ckpt-dir "$tmp/s1"
run "${B16[@]}" --threads 2 --ckpt-dir "$tmp/s2"
check "O2, batch 16: 1 and 2 threads give the same checkpoint" cmp -s "$(ls "$tmp"/s1/*.ckpt | tail -1)" "$(ls "$tmp"/s2/*.ckpt | tail -1)"

run "${T[@]}" --threads 2 --ckpt-dir "$tmp/f" --json
cp "$tmp/out" "$tmp/f.out"
ckf=$(ls "$tmp"/f/*.ckpt | tail -1)
check "O0: exit 0, echoes amp_level=O0" eval '[ "$rc" -eq 0 ] && grep -q "amp_level=O0" "$tmp/err"'
check "O0: the checkpoint has no train.amp_level (float32 files unchanged)" eval '! grep -q "train.amp_level" "$ckf"'
check "O2 and O0 differ (bf16 products are used)" eval '! cmp -s "$ck1" "$ckf"'
# the last epoch's mean loss: O2 within 10% of float32's
lossof() { grep '"event": "epoch"' "$1" | tail -1 | sed 's/.*"loss": \([0-9.e+-]*\).*/\1/'; }
l2=$(lossof "$tmp/a1.out") l0=$(lossof "$tmp/f.out")
check "O2's last-epoch mean loss ($l2) is within 10% of float32's ($l0)" \
    awk -v a="$l2" -v b="$l0" 'BEGIN { exit !(b > 0 && a > 0 && (a - b) / b < 0.1 && (b - a) / b < 0.1) }'

# resuming keeps the level

run train --data "$tmp/d" --epochs 4 --print-every 0 --progress off --resume "$ck1" --ckpt-dir "$tmp/r0"
check "resume an O2 checkpoint at O0: exit 2, says to resume with --amp-level O2" \
    eval '[ "$rc" -eq 2 ] && err_is_line "amp level O2" "--amp-level O2" && err_form_ok'
run train --data "$tmp/d" --epochs 4 --print-every 0 --progress off --resume "$ckf" --amp-level O2 --ckpt-dir "$tmp/r1"
check "resume a float32 checkpoint at O2: exit 2" eval '[ "$rc" -eq 2 ] && err_is_line "--amp-level O0" && err_form_ok'
run train --data "$tmp/d" --epochs 4 --print-every 0 --progress off --resume "$ck1" --amp-level O2 --ckpt-dir "$tmp/r2"
check "resume an O2 checkpoint at O2: exit 0" [ "$rc" -eq 0 ]


expect_error "O2 with the gemm kernels: exit 2" 2 "--amp-level" "--kernels" -- \
    train --data "$tmp/d" --max-steps 1 --amp-level O2 --kernels gemm --ckpt-dir "$tmp/g"
finish
