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

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$lenet" ] || { fail "$lenet not built"; finish; }
make_tmp
cd "$tmp" || exit 1

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

require_mnist

# A subset: 640 train images (20 steps of 32 per epoch), 100 test images.
data=$tmp/mnist
mnist_subset "$data" 640 100
T="--data $data --threads 1 --print-every 0"

# --------------------------------------------------------- rate schedules ---
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

# ----------------------------------------------------------------- resume ---
# 2 epochs straight == 1 epoch + resume; and == 1.35 epochs + resume (mid-epoch),
# with Nesterov, weight decay and a cosine schedule so the optimizer state and
# global_step matter.
O="--nesterov --weight-decay 1e-4 --lr-schedule cosine --decay-epochs 2 --lr-min 0.001 --total-steps 40 --save-steps 20"
# shellcheck disable=SC2086
run train $T $O --epochs 2 --ckpt-dir "$tmp/A" --log "$tmp/A.jsonl"
check "resume: 2 epochs straight: exit 0" eval '[ "$rc" -eq 0 ] && [ -s "$tmp/A/checkpoint_lenet-2_20.ckpt" ]'
# shellcheck disable=SC2086
run train $T $O --epochs 1 --ckpt-dir "$tmp/B"
# shellcheck disable=SC2086
run train $T $O --epochs 2 --resume "$tmp/B/checkpoint_lenet-1_20.ckpt" --ckpt-dir "$tmp/C" --log "$tmp/C.jsonl"
check "resume: 1 epoch, then --resume to epoch 2: exit 0, says where it resumes" \
    eval '[ "$rc" -eq 0 ] && grep -q "resuming from .*: epoch 1, step 20 of 20 (global step 20)" "$tmp/out"'
check "resume: the final checkpoint equals the uninterrupted run's, byte for byte" \
    cmp -s "$tmp/A/checkpoint_lenet-2_20.ckpt" "$tmp/C/checkpoint_lenet-2_20.ckpt"
check "resume: the resumed run's per-step losses equal the uninterrupted run's (steps 21-40)" \
    eval '[ "$(grep "\"event\": \"step\"" "$tmp/A.jsonl" | tail -n 20)" = "$(grep "\"event\": \"step\"" "$tmp/C.jsonl")" ]'
# shellcheck disable=SC2086
run train $T $O --epochs 2 --max-steps 27 --ckpt-dir "$tmp/D"
# shellcheck disable=SC2086
run train $T $O --epochs 2 --resume "$tmp/D/checkpoint_lenet-2_7.ckpt" --ckpt-dir "$tmp/E"
check "resume mid-epoch (epoch 2, step 7): the final checkpoint equals the uninterrupted run's" \
    eval '[ "$rc" -eq 0 ] && cmp -s "$tmp/A/checkpoint_lenet-2_20.ckpt" "$tmp/E/checkpoint_lenet-2_20.ckpt"'
# shellcheck disable=SC2086
expect_error "resume with another --seed: exit 2, names --seed" 2 "--seed 1" -- \
    train $T $O --epochs 2 --seed 5 --resume "$tmp/B/checkpoint_lenet-1_20.ckpt" --ckpt-dir "$tmp/F"
# shellcheck disable=SC2086
expect_error "resume with another --batch-size: exit 2, names --batch-size" 2 "--batch-size 32" -- \
    train $T $O --epochs 2 --batch-size 16 --resume "$tmp/B/checkpoint_lenet-1_20.ckpt" --ckpt-dir "$tmp/F"
# shellcheck disable=SC2086
expect_error "resume with --no-shuffle a shuffled run: exit 2, names --no-shuffle both ways" 2 \
    "trained with no --no-shuffle but this run has --no-shuffle" -- \
    train $T $O --epochs 2 --no-shuffle --resume "$tmp/B/checkpoint_lenet-1_20.ckpt" --ckpt-dir "$tmp/F"
head -c 300000 "$tmp/B/checkpoint_lenet-1_20.ckpt" >"$tmp/cut.ckpt"
# shellcheck disable=SC2086
expect_error "resume from a truncated checkpoint: exit 2, names the file" 2 "$tmp/cut.ckpt" -- \
    train $T --resume "$tmp/cut.ckpt" --ckpt-dir "$tmp/F"
if command -v python3 >/dev/null 2>&1; then
    check "--log: every line is JSON; config first, then step and epoch events with the documented keys" \
        python3 - "$tmp/A.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["event"] == "config" and lines[0]["lr_schedule"] == "cosine" and lines[0]["nesterov"] is True
steps = [l for l in lines if l["event"] == "step"]
epochs = [l for l in lines if l["event"] == "epoch"]
assert len(steps) == 40 and [l["global_step"] for l in steps] == list(range(1, 41))
assert list(steps[0]) == ["event", "epoch", "step", "global_step", "loss", "lr"], list(steps[0])
assert steps[20]["epoch"] == 2 and steps[20]["step"] == 1
assert len(epochs) == 2
assert list(epochs[0]) == ["event", "epoch", "steps", "loss", "test_accuracy", "test_loss", "train_seconds",
                           "images_per_second", "lr"], list(epochs[0])
assert lines[-1]["event"] == "done"
PY
fi

# shellcheck disable=SC2086
run train $T --max-steps 1 --json --ckpt-dir "$tmp/q\"d"
check "--json done line: a checkpoint path with a quote is escaped (valid JSON)" \
    eval '[ "$rc" -eq 0 ] && tail -n 1 "$tmp/out" | python3 -c "import json,sys; d = json.loads(sys.stdin.read()); assert d[\"checkpoint\"].endswith(\"q\\\"d/checkpoint_lenet-1_1.ckpt\"), d"'
# shellcheck disable=SC2086
run train $T --epochs 1 --json --resume "$tmp/B/checkpoint_lenet-1_20.ckpt" --ckpt-dir "$tmp/N"
check "--resume of a finished run: nothing to train, exit 0, done names the resumed checkpoint" \
    eval '[ "$rc" -eq 0 ] && grep -q "nothing to train" "$tmp/err" && grep -qF "\"checkpoint\": \"$tmp/B/checkpoint_lenet-1_20.ckpt\"" "$tmp/out"'

# ------------------------------------------------ a kill in the middle of a write ---
# The test-only build (make's $BUILD/lenet-testhooks) pauses 3 s in the
# middle of every checkpoint write; the trainer saves every 5 steps. Kill it (SIGKILL) while the second write is
# under way: the first checkpoint must be intact and load, and no file may
# carry the second checkpoint's final name. (The pause is the window between
# seeing the temporary file and the kill: wide enough for a busy machine.)
check "the test hook exists only in the test-only build, not in lenet itself" \
    eval '! grep -qa LENET_TEST_CKPT_PAUSE_MS "$lenet" && grep -qa LENET_TEST_CKPT_PAUSE_MS "$bin/lenet-testhooks"'
mkdir -p "$tmp/K"
# shellcheck disable=SC2086
LENET_TEST_CKPT_PAUSE_MS=3000 "$bin/lenet-testhooks" train $T --max-steps 15 --save-steps 5 --ckpt-dir "$tmp/K" \
    >"$tmp/kill.out" 2>&1 &
pid=$!
end=$((SECONDS + 120))
while [ "$SECONDS" -lt "$end" ] && kill -0 "$pid" 2>/dev/null; do
    ls "$tmp"/K/checkpoint_lenet-1_10.ckpt.tmp.* >/dev/null 2>&1 && break
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
mid=$(ls "$tmp"/K/checkpoint_lenet-1_10.ckpt.tmp.* 2>/dev/null | head -n 1)
check "kill: caught the trainer in the middle of writing checkpoint_lenet-1_10.ckpt (temporary file present)" \
    eval '[ -n "$mid" ]'
check "kill: no file carries the interrupted checkpoint's final name" eval '[ ! -e "$tmp/K/checkpoint_lenet-1_10.ckpt" ]'
run eval --data "$data" --ckpt "$tmp/K/checkpoint_lenet-1_5.ckpt" --threads 1 --json
check "kill: the previous checkpoint (checkpoint_lenet-1_5.ckpt) is intact and evaluates" \
    eval '[ "$rc" -eq 0 ] && grep -q "\"total\": 100" "$tmp/out"'
# shellcheck disable=SC2086
run train $T --max-steps 15 --save-steps 5 --resume "$tmp/K/checkpoint_lenet-1_5.ckpt" --ckpt-dir "$tmp/K2"
check "kill: training resumes from it and finishes" eval '[ "$rc" -eq 0 ] && [ -s "$tmp/K2/checkpoint_lenet-1_15.ckpt" ]'
# The killed writer's temporary file is removed by the next run in that
# folder (its process is gone), and that run says so; a live process's
# temporary file is left alone.
sleep 300 & live=$!
: >"$tmp/K/checkpoint_lenet-1_99.ckpt.tmp.$live"
: >"$tmp/K/other-1_1.ckpt.tmp.999999999"
# shellcheck disable=SC2086
run train $T --max-steps 5 --save-steps 5 --ckpt-dir "$tmp/K"
check "kill: the next run in the folder removes the dead writer's temporary file and says so" \
    eval '[ "$rc" -eq 0 ] && ! ls "$tmp"/K/checkpoint_lenet-1_10.ckpt.tmp.* >/dev/null 2>&1 && cat "$tmp/out" "$tmp/err" | grep -q "removed 1 unfinished temporary checkpoint file"'
check "kill: a live process's temporary file and another prefix's are left alone" \
    eval '[ -e "$tmp/K/checkpoint_lenet-1_99.ckpt.tmp.$live" ] && [ -e "$tmp/K/other-1_1.ckpt.tmp.999999999" ]'
kill "$live" 2>/dev/null; wait "$live" 2>/dev/null

# ----------------------------------------------- --init from a MindSpore checkpoint ---
# A no-conv-bias, fixed-rate run's checkpoint begins with exactly MindSpore's
# tutorial checkpoint (18 records, 494,155 bytes); cutting there gives a
# file with no training position, as MindSpore writes it.
# shellcheck disable=SC2086
run train $T --conv-bias off --max-steps 3 --ckpt-dir "$tmp/M"
head -c 494155 "$tmp/M/checkpoint_lenet-1_3.ckpt" >"$tmp/ms.ckpt"
# shellcheck disable=SC2086
run train $T --max-steps 2 --init "$tmp/ms.ckpt" --ckpt-dir "$tmp/M2"
check "--init from a MindSpore-format checkpoint without conv bias: conv bias detected (off), exit 0" \
    eval '[ "$rc" -eq 0 ] && grep -q "conv_bias=off" "$tmp/out" && [ -s "$tmp/M2/checkpoint_lenet-1_2.ckpt" ]'
# shellcheck disable=SC2086
expect_error "--resume from it: exit 2, says there is no training position and to use --init" 2 \
    "no training position" "--init" -- train $T --resume "$tmp/ms.ckpt" --ckpt-dir "$tmp/M3"
# shellcheck disable=SC2086
run train $T --max-steps 2 --init "$tmp/ms.ckpt" --conv-bias on --ckpt-dir "$tmp/M4"
check "--init of a no-bias checkpoint with --conv-bias on: exit 2 naming conv1.bias" \
    eval '[ "$rc" -eq 2 ] && grep -q "conv1.bias" "$tmp/err"'

# ---------------------------------------------------------- never overwrite ---
# shellcheck disable=SC2086
run train $T --max-steps 2 --crc --ckpt-dir "$tmp/M2"
check "a second run in the same folder writes checkpoint_lenet_1-1_2.ckpt and prints it; the first is untouched" \
    eval '[ "$rc" -eq 0 ] && grep -q "saved checkpoint $tmp/M2/checkpoint_lenet_1-1_2.ckpt" "$tmp/out" &&
          [ "$(ls "$tmp/M2" | wc -l)" -eq 2 ]'
check "--crc: the checkpoint ends with MindSpore's crc_num trailer" \
    eval '[ "$(tail -c 17 "$tmp/M2/checkpoint_lenet_1-1_2.ckpt" | head -c 7)" = crc_num ]'

# ModelCheckpoint runs before LossMonitor (MindSpore's [ckpoint_cb,
# LossMonitor()]), but its "saved checkpoint" line follows the loss line of
# the step it saved; the final save (ModelCheckpoint's end) comes last.
# shellcheck disable=SC2086
run train $T --max-steps 5 --save-steps 2 --print-every 1 --ckpt-dir "$tmp/ORD"
order=$(grep -E "^epoch: 1 step: [0-9]+, loss is|^saved checkpoint" "$tmp/out" |
    sed -E 's/^epoch: 1 step: ([0-9]+),.*/loss \1/; s#^saved checkpoint .*-1_([0-9]+)\.ckpt$#saved \1#' | tr '\n' ' ')
check "each 'saved checkpoint' line follows the loss line of its step ($order)" \
    eval '[ "$rc" -eq 0 ] && [ "$order" = "loss 1 loss 2 saved 2 loss 3 loss 4 saved 4 loss 5 saved 5 " ]'

# ------------------------------------------------- rotation and progress bar ---
# shellcheck disable=SC2086
run train $T --max-steps 20 --save-steps 5 --keep-max 2 --progress on --ckpt-dir "$tmp/R"
check "--save-steps 5 --keep-max 2: 4 saves printed, the 2 newest kept (1_15, 1_20)" \
    eval '[ "$rc" -eq 0 ] && [ "$(grep -o "saved checkpoint" "$tmp/out" | wc -l)" -eq 4 ] &&
          [ "$(ls "$tmp/R" | tr "\n" " ")" = "checkpoint_lenet-1_15.ckpt checkpoint_lenet-1_20.ckpt " ]'
check "--progress on: a progress bar line (steps, loss, images/s, ETA), redrawn with carriage returns" \
    eval 'grep -q "epoch 1 \[#*\.*\] [0-9]*/20 loss [0-9.]* [0-9]* img/s ETA [0-9]*:[0-9][0-9]" "$tmp/out" && grep -q $'"'"'\r'"'"' "$tmp/out"'
# shellcheck disable=SC2086
run train $T --max-steps 3 --ckpt-dir "$tmp/R2"
check "not a terminal (default --progress auto): no progress bar, plain lines" \
    eval '[ "$rc" -eq 0 ] && ! grep -q "ETA" "$tmp/out" && ! grep -q $'"'"'\r'"'"' "$tmp/out"'

finish
