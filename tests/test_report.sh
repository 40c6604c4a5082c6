#!/usr/bin/env bash
# tests/test_report.sh - `lenet report` from the command line: usage errors
# (exit 2, one line), a broken log (exit 2 naming file:line), an unwritable
# folder (exit 1), and a real `lenet train --log` run turned into a report
# (the checkpoint taken from the log's "done" line): every picture is a PNG,
# index.html shows them all and has no script. (The pictures themselves were
# checked by eye in headless Chromium; see README "Training report".)
#
# Uses $BUILD/lenet (BUILD defaults to build) and MNIST in $MNIST_DIR (default
# datasets/MNIST_Data; the real run is skipped without it). Works in a
# temporary folder. Ends with "N passed, M failed"; exit non-zero on failure.

# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
[ -x "$lenet" ] || { fail "$lenet not built (make $BUILD/lenet)"; finish; }

make_tmp
cd "$tmp" || exit 1

run report --help
check "report --help: exit 0, usage on stdout" eval '[ "$rc" -eq 0 ] && grep -q "usage: lenet report" "$tmp/out" && [ ! -s "$tmp/err" ]'
expect_error "report without --log: exit 2" 2 "--log" -- report -o r
expect_error "report without -o: exit 2" 2 "-o" -- report --log x.jsonl
expect_error "report --bogus: exit 2" 2 "bogus" -- report --bogus
expect_error "report of a missing log: exit 2, names it" 2 "nope.jsonl" -- report --log nope.jsonl -o r
printf '{"event": "config"}\n{"event": "step", "epoch": 1,\n' >broken.jsonl
expect_error "report of a broken log: exit 2, names file:line" 2 "broken.jsonl:2" -- report --log broken.jsonl -o r
printf '{"event": "step", "epoch": 1, "step": 1, "global_step": 1, "loss": 2.3, "lr": 0.01}\n' >nodone.jsonl
expect_error "a log without a checkpoint and no --ckpt: exit 2, asks for --ckpt" 2 "--ckpt" -- \
    report --log nodone.jsonl -o r
check "no report folder left by failed runs" test ! -e r

if [ ! -f "$mnist/test/t10k-images-idx3-ubyte" ] && [ ! -f "$mnist/t10k-images-idx3-ubyte" ]; then
    skip "MNIST not found in $mnist (make data): report of a real run not made"
    finish
fi

"$lenet" train --data "$mnist" --max-steps 200 --log run.jsonl --ckpt-dir ck --print-every 200 >train.out 2>&1
check "lenet train --log wrote a log with steps and an epoch" \
    eval 'grep -q "\"event\": \"step\"" run.jsonl && grep -q "\"event\": \"epoch\"" run.jsonl && grep -q "\"event\": \"done\"" run.jsonl'
touch blocker
expect_error "report into a folder that cannot be made: exit 1, names it" 1 "blocker" -- \
    report --log run.jsonl --data "$mnist" -o blocker/sub
run report --log run.jsonl --data "$mnist" -o rep/report
check "report: exit 0, the checkpoint from the log's done line, says where index.html is" \
    eval '[ "$rc" -eq 0 ] && grep -q "rep/report/index.html" "$tmp/out" && grep -q "test accuracy" "$tmp/out"'
pngs_ok=1
for f in loss_steps loss_epochs accuracy confusion misclassified; do
    [ "$(head -c 8 "rep/report/$f.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || pngs_ok=0
    grep -q "src=\"$f.png\"" rep/report/index.html || pngs_ok=0
done
check "loss, epoch, accuracy, confusion and misclassified pictures are PNGs shown by index.html" test $pngs_ok -eq 1
check "index.html: complete, no script, no absolute links" \
    eval 'grep -q "</html>" rep/report/index.html && ! grep -qi "<script" rep/report/index.html && ! grep -q "src=\"/" rep/report/index.html'
check "a constant learning rate draws no learning-rate chart" test ! -e rep/report/lr.png
check "no temporary files left in the report folder" eval '! ls rep/report/*.tmp.* >/dev/null 2>&1'
finish
