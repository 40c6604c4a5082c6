#!/usr/bin/env bash
# test_speedrun.sh - `lenet train --recipe speedrun` (the preset parses,
# echoes every setting it changes, trains bit-reproducibly with one
# evaluation at the end, and each option still overrides it), --holdout
# (the validation split) and --eval-every. The full speedrun is `make
# speedrun`, not a test.
set -u
. "$(dirname "$0")/lib.sh"
make_tmp
expect_error "--recipe bogus: exit 2, names --recipe and the recipes" 2 "--recipe" "speedrun" -- \
    train --recipe bogus
run train --help
check "train --help lists --recipe, --holdout, --eval-every, --decay-steps run" \
    eval 'grep -q -- "--recipe NAME" "$tmp/out" && grep -q -- "--holdout N" "$tmp/out" &&
          grep -q -- "--eval-every N" "$tmp/out" && grep -q -- "run: N = the run" "$tmp/out"'
require_mnist "the speedrun preset on real data"
d=$tmp/d
mnist_subset "$d" 1000 200
# 62 steps of 16 rows per epoch; 2 epochs = 124 steps.
run train --recipe speedrun --data "$d" --ckpt-dir "$tmp/a" --threads 1 --json
check "speedrun preset: exit 0" [ "$rc" -eq 0 ]
check "echo: recipe=speedrun epochs=2 batch_size=16 lr=0.015 nesterov=on eval_every=0" \
    eval 'grep -q "^config: recipe=speedrun .*epochs=2 batch_size=16 lr=0.015 momentum=0.9 .*nesterov=on .*eval_every=0" "$tmp/err"'
check "echo: cosine per step over the whole run (124 steps), to 0" \
    eval 'grep -q "^learning rate: cosine lr_steps=124 lr_min_or_end=0 .*decay_epochs=124 steps_per_decay_epoch=1" "$tmp/err"'
check "one evaluation, after the last epoch (epoch 1 has null accuracy)" \
    eval '[ "$(grep -c "accuracy" "$tmp/err")" -eq 1 ] && grep -q "^epoch 2: .*test accuracy" "$tmp/err" &&
          grep -q "\"epoch\": 1, .*\"test_accuracy\": null" "$tmp/out" &&
          grep -q "\"epoch\": 2, .*\"test_accuracy\": 0\.[0-9]" "$tmp/out"'
check "the last rate is cosine's last step, not 0.015" \
    eval 'grep -q "^epoch 2: .*lr 0.0075.* -> [0-9.e-]*$" "$tmp/err"'
check "one checkpoint, at the end" eval '[ "$(ls "$tmp"/a/*.ckpt | wc -l)" -eq 1 ] && [ -f "$tmp/a/checkpoint_lenet-2_62.ckpt" ]'
run train --recipe speedrun --data "$d" --ckpt-dir "$tmp/b" --threads 2
check "bit-reproducible: same checkpoint with 2 threads in another run" \
    cmp -s "$tmp/a/checkpoint_lenet-2_62.ckpt" "$tmp/b/checkpoint_lenet-2_62.ckpt"
run train --batch-size 32 --recipe speedrun --epochs 1 --data "$d" --ckpt-dir "$tmp/c" --threads 1 --no-nesterov 2>/dev/null
check "an unknown option after the preset is still an error (exit 2)" [ "$rc" -eq 2 ]
run train --batch-size 32 --recipe speedrun --epochs 1 --eval-every 1 --data "$d" --ckpt-dir "$tmp/c" --threads 1
check "options override the preset wherever they stand: batch_size=32 epochs=1" \
    eval '[ "$rc" -eq 0 ] && grep -q "^config: recipe=speedrun .*epochs=1 batch_size=32 " "$tmp/out" &&
          grep -q "lr_steps=31 .*decay_epochs=31 " "$tmp/out"'
run train --recipe tutorial --data "$d" --ckpt-dir "$tmp/t" --threads 1 --max-steps 3
check "--recipe tutorial: the defaults" eval 'grep -q "^config: recipe=tutorial .*epochs=1 batch_size=32 lr=0.01 " "$tmp/out"'

# --holdout: the last N training images become the evaluation set.
run train --data "$d" --holdout 200 --epochs 2 --eval-every 2 --ckpt-dir "$tmp/h" --threads 1 --print-every 0
check "--holdout 200: trains on 800, evaluates on 200 validation images, once (epoch 2)" \
    eval '[ "$rc" -eq 0 ] && grep -q "data: 800 train images .*, 200 validation (held out of train) images" "$tmp/out" &&
          grep -q "^epoch 2: .*validation accuracy [0-9.]*% ([0-9]*/200)" "$tmp/out" &&
          ! grep -q "^epoch 1: .*accuracy" "$tmp/out"'
expect_error "--holdout as large as the training set: exit 2, names --holdout" 2 "--holdout" -- \
    train --data "$d" --holdout 1000 --ckpt-dir "$tmp/h2"
finish
