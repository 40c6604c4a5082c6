#!/usr/bin/env bash
# tests/test_harden.sh - the hostile-user cases, one section per
# class (README "Reliability"):
#   1. outputs: a FIFO, a character device, a symlink or a folder given as an
#      output is refused (exit 2) and left as it was; symlinks planted at the
#      temporary names are never followed; an output that is an input is
#      refused; a failed write leaves no temporary file;
#   2. NaN and Inf in every network tensor and every moment are refused
#      (exit 2, naming tensor and index); a diverging run stops with exit 1,
#      saves no non-finite checkpoint, and its JSON has no bare nan/inf;
#   3. writes to a full device (stdout), a file-size limit (--log, export)
#      and a closed stdout (training goes on, saves, exit 1 at the end);
#   4. /dev/zero, a FIFO without a writer and an endless FIFO as inputs;
#   5. overflowing dims, duplicate names, short data in checkpoints;
#   6. the messages of the issue's class 6.
# Devices and FIFOs are made by the test in its own temporary folder (mknod
# only as root); nothing is ever written to the machine's /dev. Crafted
# checkpoints come from tests/ckpt_tool.py (python3, standard library).
# Ends with "N passed, M failed"; exit non-zero if a check failed.

# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -x "$lenet" ]; then
    fail "$lenet not built (make $BUILD/lenet)"
    finish
fi
require_mnist "hardening checks"
if ! command -v python3 >/dev/null; then
    skip "python3 not found: crafted checkpoints not tested"
    finish
fi
make_tmp
cd "$tmp" || exit 1
tool() { python3 "$repo/tests/ckpt_tool.py" "$@"; }
small_checkpoint 320 100 3
same() { cmp -s "$1" "$2"; }
no_tmp() { ! ls "$1"/*.tmp.* >/dev/null 2>&1; }

# ---------------------------------------------------- 1. outputs ---
mkdir o
echo victim >victim
mkfifo o/fifo
expect_error "export -o FIFO: refused, exit 2, names it and its kind" 2 "o/fifo" "FIFO" -- \
    export --ckpt "$good" --format onnx -o o/fifo
check "... the FIFO is still a FIFO" test -p o/fifo
ln -s ../victim o/link
expect_error "export -o SYMLINK: refused, exit 2, names it" 2 "o/link" "symbolic link" -- \
    export --ckpt "$good" --format onnx -o o/link
check "... the link is still a link and its target unchanged" eval '[ -L o/link ] && [ "$(cat victim)" = victim ]'
mkdir o/dir
expect_error "export -o FOLDER: refused, exit 2" 2 "o/dir" "folder" -- export --ckpt "$good" --format onnx -o o/dir
if [ "$(id -u)" -eq 0 ] && mknod o/full c 1 7 2>/dev/null; then
    expect_error "export -o a character device (made here, like /dev/full): refused, exit 2" 2 "o/full" \
        "character device" -- export --ckpt "$good" --format safetensors -o o/full
    check "... it is still a character device" test -c o/full
    expect_error "inspect --png onto a character device: refused, exit 2" 2 "o/full" -- \
        inspect --data "$data" --png o/full
    expect_error "train --log onto a character device: refused, exit 2 (appended to regular files only)" 2 \
        "o/full" "character device" -- train $T --max-steps 1 --ckpt-dir ck_dev --log o/full
    have_full=1
else
    skip "not root or mknod not permitted: character-device outputs not tested"
    have_full=0
fi
expect_error "train --log onto a FIFO: refused, exit 2, no hang" 2 "o/fifo" "FIFO" -- \
    train $T --max-steps 1 --ckpt-dir ck_fifo --log o/fifo
expect_error "train --log onto a symlink: refused, exit 2" 2 "o/link" -- \
    train $T --max-steps 1 --ckpt-dir ck_link --log o/link
check "... its target unchanged" eval '[ "$(cat victim)" = victim ]'

# Symlinks planted at every name the old writers used (OUT.tmp.PID) and the
# new ones' prefix (OUT.tmp.PID.*), and at the target folder's other names:
# none is followed, the output is a regular file, the victim is unchanged.
mkdir plant
cp victim plant/victim.orig
# shellcheck disable=SC2016
bash -c 'cd plant && for s in "" .0 .00000000 .ffffffff; do ln -s ../victim "m.onnx.tmp.$$$s"; done
         exec "$0" export --ckpt "$1" --format onnx -o m.onnx' "$lenet" "$good" >/dev/null 2>plant.err
rc=$?
check "planted symlinks at the temporary names: export succeeds" eval '[ "$rc" -eq 0 ] && [ -f plant/m.onnx ] && [ ! -L plant/m.onnx ]'
check "... no planted link was followed (the victim is unchanged) or removed" \
    eval '[ "$(cat victim)" = victim ] && [ "$(find plant -type l | wc -l)" -eq 4 ]'
mkdir plant2
# shellcheck disable=SC2016
bash -c 'for s in "" .0 .00000000; do ln -s ../victim "plant2/checkpoint_lenet-1_2.ckpt.tmp.$$$s"; done
         ln -s ../victim plant2/checkpoint_lenet-1_1.ckpt
         exec "$0" train --data "$1" --threads 1 --print-every 0 --max-steps 2 --save-steps 1 --ckpt-dir plant2 --prefix x' \
    "$lenet" "$data" >/dev/null 2>&1
check "training next to planted symlinks: its checkpoints are regular files, the victim unchanged" \
    eval '[ -f plant2/x-1_2.ckpt ] && [ ! -L plant2/x-1_2.ckpt ] && [ "$(cat victim)" = victim ]'
# shellcheck disable=SC2086
run train $T --max-steps 1 --ckpt-dir plant2 --prefix checkpoint_lenet
check "a symlink at a checkpoint's final name is refused, not followed" \
    eval '[ "$(cat victim)" = victim ] && [ -L plant2/checkpoint_lenet-1_1.ckpt ]'

# Outputs equal to inputs.
cp "$good" a.ckpt && cp a.ckpt a.orig && ln a.ckpt a.hard
expect_error "export --ckpt a.ckpt -o a.ckpt: refused, exit 2" 2 "a.ckpt" "input" -- \
    export --ckpt a.ckpt --format mindspore -o a.ckpt
expect_error "export -o a hard link of --ckpt: refused (same device and inode)" 2 "a.hard" -- \
    export --ckpt a.ckpt --format safetensors -o a.hard
check "... the checkpoint is intact" same a.ckpt a.orig
cp "$data/train/train-images-idx3-ubyte" imgs.orig
expect_error "inspect --png onto the data file it reads: refused, exit 2" 2 "train-images-idx3-ubyte" -- \
    inspect --data "$data" --png "$data/train/train-images-idx3-ubyte"
check "... the data file is intact" same "$data/train/train-images-idx3-ubyte" imgs.orig
"$lenet" inspect --data "$data" --png pic.png >/dev/null 2>&1
cp pic.png pic.orig
expect_error "inspect --image X --png X: refused, exit 2" 2 "pic.png" -- inspect --image pic.png --png pic.png
check "... the picture is intact" same pic.png pic.orig
expect_error "train --log = --resume: refused, exit 2" 2 "--resume" -- \
    train $T --max-steps 4 --resume a.ckpt --log a.ckpt --ckpt-dir ck_same
check "... the checkpoint is intact" same a.ckpt a.orig
mkdir rep
cp a.ckpt rep/index.html
# shellcheck disable=SC2086
"$lenet" train $T --max-steps 2 --ckpt-dir ck_log --log run.jsonl >/dev/null 2>&1
expect_error "report -o DIR where DIR/index.html is the --ckpt: refused, exit 2" 2 "index.html" "--ckpt" -- \
    report --log run.jsonl --ckpt rep/index.html --data "$data" -o rep
check "... the checkpoint is intact" same rep/index.html a.ckpt

# A failed write (file-size limit: SIGXFSZ is ignored) leaves the old output
# and no temporary file.
"$lenet" export --ckpt "$good" --format onnx -o lim.onnx >/dev/null 2>&1
cp lim.onnx lim.orig
(ulimit -f 8; exec "$lenet" export --ckpt "$good" --format onnx -o lim.onnx) >/dev/null 2>lim.err
rc=$?
check "export under ulimit -f: exit 1 (not killed by SIGXFSZ), one line naming the output" \
    eval '[ "$rc" -eq 1 ] && [ "$(wc -l <lim.err)" -eq 1 ] && grep -q "lim.onnx" lim.err && grep -qi "too large" lim.err'
check "... the old output is intact and no temporary file is left" eval 'same lim.onnx lim.orig && no_tmp .'

# ---------------------------------------------------- 2. finite or refused ---
names=$(tool names "$good" | grep -v '^train\.\|^learning_rate\|^momentum\|^global_step')
n=0
for name in $names; do
    n=$((n + 1))
    case $((n % 3)) in 0) v=nan ;; 1) v=inf ;; *) v=-inf ;; esac
    tool poke "$good" bad.ckpt "$name" 1 "$v"
    run export --ckpt bad.ckpt --format safetensors -o bad.st
    if [ "$rc" -eq 2 ] && err_is_line "$name" "index 1" "non-finite" && [ ! -e bad.st ]; then
        pass "$v in $name: refused, exit 2, naming tensor and index"
    else
        fail "$v in $name: refused, exit 2, naming tensor and index (exit $rc, $(head -c 300 "$tmp/err"))"
    fi
done
check "every network tensor and every moment was tried (20 with conv bias)" eval '[ "$n" -eq 20 ]'
tool poke "$good" nan.ckpt conv1.weight 7 nan
expect_error "eval with NaN in conv1.weight: exit 2 (was 76% with exit 0)" 2 "conv1.weight" "index 7" -- \
    eval --data "$data" --ckpt nan.ckpt
expect_error "predict with NaN weights: exit 2" 2 "conv1.weight" -- predict --ckpt nan.ckpt pic.png
expect_error "train --init with NaN weights: exit 2" 2 "conv1.weight" -- train $T --max-steps 1 --init nan.ckpt --ckpt-dir ck_i
tool poke "$good" nanm.ckpt moments.fc2.weight 3 inf
expect_error "train --resume with an Inf moment: exit 2" 2 "moments.fc2.weight" "index 3" -- \
    train $T --max-steps 6 --resume nanm.ckpt --ckpt-dir ck_r

# A diverging run.
# shellcheck disable=SC2086
run train $T --lr 1e6 --max-steps 60 --save-steps 1 --ckpt-dir div --json --log div.jsonl
check "--lr 1e6: stops with exit 1 and 'diverged at step S'" \
    eval '[ "$rc" -eq 1 ] && grep -q "^lenet: training diverged at step [0-9]" "$tmp/err"'
ok=1
for f in div/*.ckpt; do "$lenet" export --ckpt "$f" --format safetensors -o div.st >/dev/null 2>&1 || ok=0; done
check "... every checkpoint it saved is finite (loads), and it saved at least one" \
    eval '[ "$ok" -eq 1 ] && ls div/*.ckpt >/dev/null 2>&1'
check "... the last good checkpoint is kept (one per step until the divergence)" \
    eval '[ "$(ls div/*.ckpt | wc -l)" -ge 1 ]'
check "... its --log and --json lines are strict JSON (no bare nan or inf)" python3 -c '
import json, sys
def bad(c): raise ValueError(c)
for f in sys.argv[1:]:
    for line in open(f):
        json.loads(line, parse_constant=bad)' div.jsonl "$tmp/out"
# Finite weights whose logits overflow (fc3 row 0 and bias near FLT_MAX):
# every probability is NaN, printed as null by both JSON printers.
tool poke "$good" big1.ckpt fc2.bias 0 100 && tool poke big1.ckpt big2.ckpt fc3.weight 0 3e38 &&
    tool poke big2.ckpt big.ckpt fc3.bias 0 3e38
"$lenet" eval --data "$data" --ckpt big.ckpt --per-image --mindspore-count >big_eval.jsonl 2>/dev/null
"$lenet" predict --ckpt big.ckpt --json pic.png >big_pred.jsonl 2>/dev/null
check "eval --per-image and predict --json with overflowing logits: strict JSON, probabilities null" python3 -c '
import json, sys
def bad(c): raise ValueError(c)
n = 0
for f in sys.argv[1:]:
    for line in open(f):
        d = json.loads(line, parse_constant=bad)
        assert d["probabilities"] == [None] * 10, d
        n += 1
assert n > 2, n' big_eval.jsonl big_pred.jsonl

# ---------------------------------------------------- 3. every write checked ---
if [ "$have_full" -eq 1 ]; then
    "$lenet" summary >o/full 2>sum.err
    rc=$?
    check "summary > full device: exit 1, one line" \
        eval '[ "$rc" -eq 1 ] && [ "$(wc -l <sum.err)" -eq 1 ] && grep -q "standard output" sum.err'
    "$lenet" eval --data "$data" --ckpt "$good" --json >o/full 2>ev.err
    rc=$?
    check "eval --json > full device: exit 1, one line" eval '[ "$rc" -eq 1 ] && grep -q "standard output" ev.err'
fi
# --log reaching a file-size limit: exit 1 naming --log (SIGXFSZ ignored).
# shellcheck disable=SC2086
(ulimit -f 1; exec "$lenet" train $T --epochs 5 --save-steps 1000 --ckpt-dir ck_fsz --log fsz.jsonl) >/dev/null 2>fsz.err
rc=$?
check "--log under ulimit -f: exit 1, one line naming the log and the reason" \
    eval '[ "$rc" -eq 1 ] && [ "$(wc -l <fsz.err)" -eq 1 ] && grep -q "fsz.jsonl" fsz.err && grep -qi "too large" fsz.err'
# A closed stdout during training (`lenet train --json | head -1`): training
# goes on quietly to the end, saves its checkpoints, exit 1 at the end.
# shellcheck disable=SC2086
{ "$lenet" train $T --epochs 2 --save-steps 5 --ckpt-dir ck_pipe --json 2>pipe.err; echo $? >pipe.rc; } | true
check "train --json | (closed): exit 1 at the end, saying stdout was lost" \
    eval '[ "$(cat pipe.rc)" -eq 1 ] && grep -q "standard output" pipe.err'
check "... training went on and saved every checkpoint (the last at epoch 2, step 10)" \
    eval '[ -s ck_pipe/checkpoint_lenet-2_10.ckpt ] && [ "$(ls ck_pipe | wc -l)" -eq 4 ] && grep -q "last checkpoint ck_pipe/checkpoint_lenet-2_10.ckpt" pipe.err'

# ---------------------------------------------------- 4. bounded input ---
timeout 20 "$lenet" report --log /dev/zero -o rz >/dev/null 2>rz.err
rc=$?
check "report --log /dev/zero: exit 2 at once (a device is refused), one line" \
    eval '[ "$rc" -eq 2 ] && [ "$(wc -l <rz.err)" -eq 1 ] && grep -q "character device" rz.err'
mkfifo f1
timeout 20 "$lenet" report --log f1 -o rf >/dev/null 2>rf.err
rc=$?
check "report --log FIFO without a writer: no hang, exit 2" eval '[ "$rc" -eq 2 ]'
mkfifo f2
(tr '\0' x </dev/zero >f2 2>/dev/null &)
timeout 20 "$lenet" report --log f2 -o rf2 >/dev/null 2>rf2.err
rc=$?
check "report --log FIFO fed endlessly: exit 2 at the line-length cap, one line" \
    eval '[ "$rc" -eq 2 ] && [ "$(wc -l <rf2.err)" -eq 1 ] && grep -q "longer than 65536 bytes" rf2.err'
mkfifo f3
timeout 20 "$lenet" eval --data "$data" --ckpt f3 >/dev/null 2>f3.err
rc=$?
check "eval --ckpt FIFO: refused, exit 2, no hang" eval '[ "$rc" -eq 2 ] && grep -q "FIFO" f3.err'
timeout 20 "$lenet" train $T --lr-file /dev/zero --max-steps 1 --ckpt-dir ck_z >/dev/null 2>lz.err
rc=$?
check "train --lr-file /dev/zero: refused, exit 2" eval '[ "$rc" -eq 2 ]'

# ---------------------------------------------------- 5. checkpoint validation ---
tool shape big.ckpt conv1.weight 2147483648 2147483648
expect_error "dims [2^31, 2^31] without data: exit 2 naming the tensor (no wrap to 0)" 2 "conv1.weight" \
    "2147483648" -- export --ckpt big.ckpt --format mindspore -o big.out
check "... nothing written" test ! -e big.out
tool shape huge.ckpt fc1.weight 4294967296 4294967296 16
expect_error "dims whose product overflows 64 bits: exit 2 naming the tensor" 2 "fc1.weight" -- \
    export --ckpt huge.ckpt --format mindspore -o big.out
tool dup "$good" dup.ckpt fc2.bias
expect_error "a duplicate tensor name: exit 2 naming it" 2 "fc2.bias" "twice" -- \
    export --ckpt dup.ckpt --format mindspore -o dup.out
tool short "$good" short.ckpt conv2.weight
expect_error "data shorter than the shape: exit 2 naming the tensor" 2 "conv2.weight" -- \
    export --ckpt short.ckpt --format mindspore -o short.out

# ---------------------------------------------------- 6. messages ---
long=$(printf 'p%.0s' $(seq 240))
expect_error "--prefix of 240 characters: says it is too long" 2 "--prefix" "longer than 200" -- \
    train $T --prefix "$long"
expect_error "--prefix with a newline: refused" 2 "--prefix" "control character" -- train $T --prefix $'a\nb'
expect_error "--milestones '5,,10': refused" 2 "--milestones" "empty item" -- \
    train $T --lr-schedule piecewise --milestones 5,,10 --lr-values 1,2,3
expect_error "--decay-rate without --lr-schedule: refused" 2 "--decay-rate" "--lr-schedule" -- train $T --decay-rate 0.5
expect_error "--lr-min with --lr-schedule exponential: refused" 2 "--lr-min" "cosine" -- \
    train $T --lr-schedule exponential --lr-min 0.001
path=$(python3 -c 'print("d/" * 50000 + "x.ckpt")')
run eval --data "$data" --ckpt "$path"
check "a 100 kB path: one line of at most 400 bytes, the reason kept, the path cut in the middle" \
    eval '[ "$rc" -eq 2 ] && err_is_line "cannot open" "..." && [ "$(wc -c <"$tmp/err")" -le 400 ]'
python3 - <<'EOF'
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
w, h = 16385, 1
raw = b"\0" + b"\xff" * w
open("wide.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                             + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
EOF
expect_error "a 16385-pixel-wide PNG: says too large" 2 "too large" "16385" -- predict --ckpt "$good" wide.png
# shellcheck disable=SC2086
"$lenet" train $T --epochs 3 --max-steps 30 --ckpt-dir ck_30 >/dev/null 2>&1
run train $T --resume ck_30/checkpoint_lenet-3_10.ckpt --max-steps 20 --ckpt-dir ck_ms2
check "--resume CK --max-steps 20 (CK at step 30): blames --max-steps, not --epochs" \
    eval 'cat "$tmp/out" "$tmp/err" | grep "nothing to train" | grep -q -- "--max-steps is 20"'
cp pic.png "$(printf 'bad\377name.png')"
run predict --ckpt "$good" --json "$(printf 'bad\377name.png')"
check "predict --json with a non-UTF-8 file name: strict UTF-8 JSON with U+FFFD" \
    eval '[ "$rc" -eq 0 ] && python3 -c "import json,sys; d=json.loads(open(sys.argv[1],\"rb\").read().decode(\"utf-8\")); assert d[\"file\"]==\"bad\ufffdname.png\"" "$tmp/out"'

finish
