#!/usr/bin/env bash
# tests/test_messages.sh - every error message in one form (README "Error
# messages"): one line, "lenet: " then the reason - never a path, an option
# or a "subject:" label first - then the file or option it concerns, then
# (after "; ") what to do. Runs a broad set of failing invocations of every
# command (bad option values, missing and corrupt files, refused outputs,
# library refusals) and checks for each: the exit code (2 bad input or
# usage, 1 runtime), the form (err_form_ok in lib.sh), and that the file or
# option at fault is named after the reason. Also: a long path is shortened
# in the middle, so the reason and the file's name both survive.
# Ends with "N passed, M failed"; exit non-zero if a check failed.

# shellcheck disable=SC2016
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -x "$lenet" ]; then
    fail "$lenet not built (make $BUILD/lenet)"
    finish
fi
require_mnist "message checks"
make_tmp
cd "$tmp" || exit 1
small_checkpoint 96 32 2

# Bad files of every kind the commands read.
printf 'not a checkpoint at all' >junk.ckpt
printf 'hello' >note.txt
: >empty.png
printf '{"event": "step"}\n' >bad.jsonl
printf '0.1\nx\n' >rates.txt
mkdir -p trunc/train trunc/test outdir
{ be32 2051; be32 96; be32 28; be32 28; head -c 100 /dev/zero; } >trunc/train/train-images-idx3-ubyte
cp "$data/train/train-labels-idx1-ubyte" trunc/train/
cp -r "$data/test/." trunc/test/

# form WHAT RC NAMED -- ARGS...: ARGS fail with exit RC and one line in
# lenet's form that names NAMED after the reason.
form() {
    local what=$1 want=$2 named=$3
    shift 4
    run "$@"
    local line
    line=$(cat "$tmp/err")
    if [ "$rc" -eq "$want" ] && err_form_ok && [[ $line == "lenet: "?*"$named"* ]] &&
        [[ $line != "lenet: $named"* ]]; then
        pass "$what"
    else
        fail "$what (exit $rc, stderr: $(head -c 300 "$tmp/err" | tr '\n' '|'))"
    fi
}

# shellcheck disable=SC2086
{
# train: option values and combinations
form "train --epochs abc" 2 "--epochs" -- train $T --epochs abc
form "train --lr -1" 2 "--lr" -- train $T --lr -1
form "train --prefix a/b" 2 "--prefix" -- train $T --prefix a/b
form "train --milestones 5,,10" 2 "--milestones" -- train $T --lr-schedule piecewise --milestones 5,,10
form "train --decay-rate without --lr-schedule" 2 "--decay-rate" -- train $T --decay-rate 0.5
form "train --lr-schedule bogus" 2 "--lr-schedule" -- train $T --lr-schedule bogus
form "train --recipe bogus" 2 "--recipe" -- train $T --recipe bogus
form "train --init with --resume" 2 "--init" -- train $T --init "$good" --resume "$good"
form "train --bogus" 2 "--bogus" -- train $T --bogus
form "train --epochs without a value" 2 "--epochs" -- train $T --epochs
form "train --progress maybe" 2 "--progress" -- train $T --progress maybe
form "train --group without patterns" 2 "--group" -- train $T --group ':lr=0.1'
form "train extra argument" 2 "stray" -- train $T stray
# train: files
form "train --data missing folder" 2 "$tmp/nowhere" -- train --data "$tmp/nowhere" --threads 1
form "train --data truncated IDX file" 2 "trunc/train/train-images-idx3-ubyte" -- train --data trunc --threads 1
form "train --batch-size larger than the data" 2 "--batch-size" -- train $T --batch-size 200
form "train --lr-file with a bad line" 2 "rates.txt:2" -- train $T --lr-file rates.txt
form "train --log onto a folder (refused before any work, exit 2)" 2 "outdir" -- train $T --max-steps 1 --ckpt-dir ck2 --log outdir
form "train --resume from a corrupt checkpoint" 2 "junk.ckpt" -- train $T --resume junk.ckpt
# eval
form "eval without --ckpt" 2 "--ckpt" -- eval --data "$data"
form "eval --ckpt missing" 2 "$tmp/missing.ckpt" -- eval --data "$data" --ckpt "$tmp/missing.ckpt"
form "eval --ckpt corrupt" 2 "junk.ckpt" -- eval --data "$data" --ckpt junk.ckpt
form "eval --batch-size 0" 2 "--batch-size" -- eval --data "$data" --ckpt "$good" --batch-size 0
form "eval --conv-bias maybe" 2 "--conv-bias" -- eval --data "$data" --ckpt "$good" --conv-bias maybe
# predict
form "predict without an image" 2 "IMAGE" -- predict --ckpt "$good"
form "predict a text file" 2 "note.txt" -- predict --ckpt "$good" note.txt
form "predict an empty file" 2 "empty.png" -- predict --ckpt "$good" empty.png
# export
form "export without --format" 2 "--format" -- export --ckpt "$good" -o m.onnx
form "export --format bogus" 2 "--format" -- export --ckpt "$good" --format bogus -o m.onnx
form "export -o a folder" 2 "outdir" -- export --ckpt "$good" --format onnx -o outdir
form "export -o the input" 2 "$good" -- export --ckpt "$good" --format mindspore -o "$good"
form "export --crc with onnx" 2 "--crc" -- export --ckpt "$good" --format onnx --crc -o m.onnx
# report, inspect, summary, serve, the command itself
form "report without --log" 2 "--log" -- report -o rep
form "report a log that is not one" 2 "bad.jsonl" -- report --log bad.jsonl -o rep --data "$data" --ckpt "$good"
form "inspect --split bogus" 2 "--split" -- inspect --data "$data" --split bogus
form "inspect --index out of range" 2 "--index" -- inspect --data "$data" --split test --index 5000
form "inspect --grid with --image" 2 "--grid" -- inspect --image note.txt --grid g.png
form "summary extra argument" 2 "extra" -- summary extra
form "serve without --ckpt" 2 "--ckpt" -- serve
form "serve --bind not an address" 2 "--bind" -- serve --ckpt "$good" --bind nohost --port 0
form "unknown command" 2 "frobnicate" -- frobnicate
}

# `make data` is suggested only where it works: in a folder whose Makefile
# has a data target (lenet's sources), not anywhere else.
mkdir -p elsewhere src_tree
printf 'all:\n\ndata:\n\t@echo fetch\n' >src_tree/Makefile
(cd elsewhere && "$lenet" eval --ckpt "$good" --data "$tmp/nowhere" >/dev/null 2>"$tmp/err")
check "a missing data folder outside lenet's sources: no \`make data\` suggested" \
    eval 'err_form_ok && grep -q "nowhere" "$tmp/err" && ! grep -q "make data" "$tmp/err"'
(cd src_tree && "$lenet" eval --ckpt "$good" --data "$tmp/nowhere" >/dev/null 2>"$tmp/err")
check "... in a folder whose Makefile has a data target: \`make data\` suggested" \
    eval 'err_form_ok && grep -q "nowhere" "$tmp/err" && grep -q "run \`make data\` here" "$tmp/err"'

# A 1000-character path: shortened in the middle, the reason and both ends kept.
long=$tmp/$(printf 'd%.0s' $(seq 1 1000))/x.ckpt
run eval --data "$data" --ckpt "$long"
line=$(cat "$tmp/err")
check "a 1000-character path: one line in the form, the reason kept, the path cut in the middle" \
    eval '[ "$rc" -eq 2 ] && err_form_ok && [ ${#line} -lt 400 ] && [[ $line == *"..."*"/x.ckpt"* ]] &&
          [[ $line == *"$tmp"* ]]'

# Without --ckpt, eval, predict, export and serve take the newest checkpoint
# in checkpoints/ and name it; with none there, the missing option.
mkdir -p nock && cd nock || exit 1
printf 'P5 1 1 255\n\x80' >one.pgm
for c in eval "predict one.pgm" "export --format onnx -o m.onnx"; do
    # shellcheck disable=SC2086  # the command and its options
    expect_error "$c without --ckpt, no checkpoints/: exit 2" 2 "missing option: --ckpt FILE" "none in checkpoints/" -- $c
done
mkdir -p checkpoints
cp "$good" checkpoints/old.ckpt && touch -d '2020-01-01' checkpoints/old.ckpt
cp "$good" checkpoints/new.ckpt
printf x >checkpoints/junk.txt
run predict
check "predict without an image: the usage error alone, no checkpoint announced first" \
    eval '[ "$rc" -eq 2 ] && err_is_line "no image given"'
run eval --data "$data" --threads 1 --json
check "eval without --ckpt: the newest checkpoint in checkpoints/, named on stderr" \
    eval '[ "$rc" -eq 0 ] && grep -q "using checkpoints/new.ckpt, the newest checkpoint in checkpoints/" "$tmp/err" &&
          grep -q accuracy "$tmp/out"'
touch -d '2030-01-01' checkpoints/old.ckpt
run export --format onnx -o m.onnx
check "export without --ckpt: the newest by time (old.ckpt, touched later)" \
    eval '[ "$rc" -eq 0 ] && grep -q "using checkpoints/old.ckpt" "$tmp/err" && [ -s m.onnx ]'
cd "$tmp" || exit 1

finish
