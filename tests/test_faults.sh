#!/usr/bin/env bash
# tests/test_faults.sh - faults lose no work:
#   1. SIGINT / SIGTERM during `lenet train`: the step finishes, its checkpoint
#      is written under the usual name, the resume command is printed, exit
#      130 / 143; the printed command resumes to checkpoints byte-identical to
#      an uninterrupted run; a second signal exits at once, no final name
#      left half-written;
#   2. output paths checked before any work (--ckpt-dir, --log, --report);
#   3. full disks (a small tmpfs, mounted here when run as root; skipped
#      where mounting is not allowed) and `ulimit -f`;
#   4. four runs started together with the same --ckpt-dir and --prefix;
#   5. `ulimit -v`: enough works, too little is one line and exit 1, no crash,
#      no outputs;
#   6. `lenet report` on a log whose last line was cut mid-write;
#   7. the Nth write / fsync / link / rename / fflush failing (the LD_PRELOAD
#      shim tests/faultinject.c, built as $BUILD/faultinject.so) on every
#      write path: checkpoint, log, report, exports, inspect --png;
#   8. libmicrohttpd missing (its dlopen failing): `lenet serve` says what to
#      install, exit 1; other commands never load it, nor libmpi outside mpirun.
# Uses $BUILD/lenet and MNIST in $MNIST_DIR; works in a temporary folder.
# shellcheck disable=SC2016
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$lenet" ] || { fail "$lenet not built"; finish; }
shim=$bin/faultinject.so
make_tmp
mounts=()
cleanup() {
    local m
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    rm -rf -- "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
require_mnist

# mount_small_fs DIR SIZE [OPTS]: a tmpfs of SIZE at DIR; fails where not allowed.
mount_small_fs() {
    mkdir -p "$1"
    [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1" 2>/dev/null || return 1
    mounts+=("$1")
}
# no_temp DIR: no temporary file (*.tmp.*) left in DIR.
no_temp() { ! ls -a "$1" 2>/dev/null | grep -q '\.tmp\.'; }
# err_names NEEDLE...: stderr ($tmp/err) is one line holding every NEEDLE.
err_names() { err_is_line "$@"; }
# fill DIR: no byte left on DIR's file system (DIR/filler takes the rest).
fill() { cat /dev/zero >"$1/filler" 2>/dev/null; }

data=$tmp/mnist
mnist_subset "$data" 640 100        # 20 steps of 32 per epoch
big=$tmp/mnist-big
mnist_subset "$big" 20000 500       # 625 steps per epoch
T="--data $data --threads 1 --print-every 0"

# ============================================================ 1. signals ===
B="--data $big --threads 1 --print-every 0 --epochs 2"
run train $B --ckpt-dir "$tmp/sig-ref"
ref=$tmp/sig-ref/checkpoint_lenet-2_625.ckpt
check "signals: the uninterrupted 2-epoch run (reference)" eval '[ "$rc" -eq 0 ] && [ -f "$ref" ]'

# interrupt SIG NAME: a run stopped by SIG once its log shows step >= 100
# (frozen with SIGSTOP first, so the signal lands mid-epoch), then resumed
# with the command it printed.
interrupt() {
    local sig=$1 want=$2 d=$tmp/sig-$1
    mkdir -p "$d"
    "$lenet" train $B --ckpt-dir "$d/ck" --log "$d/run.jsonl" >"$d/out" 2>"$d/err" &
    local pid=$! i
    for i in $(seq 1 3000); do
        grep -q '"global_step": 100,' "$d/run.jsonl" 2>/dev/null && break
        sleep 0.01
    done
    kill -STOP "$pid"; kill "-$sig" "$pid"; kill -CONT "$pid"
    wait "$pid"
    local src=$?
    local ck
    ck=$(sed -n 's/^interrupted by .*; checkpoint //p' "$d/out")
    local step=${ck##*-1_}
    step=${step%.ckpt}
    check "$sig mid-epoch: exit $want, its checkpoint (epoch 1, step $step) named as usual and printed" \
        eval '[ "$src" -eq "$want" ] && [ -f "$ck" ] && [[ "$ck" == "$d/ck/checkpoint_lenet-1_"*.ckpt ]] &&
              [ "$step" -ge 100 ] && [ "$step" -lt 625 ] && grep -qF "saved checkpoint $ck" "$d/out" &&
              [ "$(ls "$d/ck")" = "$(basename "$ck")" ]'
    check "$sig: the log ends with an \"interrupted\" line naming the checkpoint" \
        eval 'tail -n 1 "$d/run.jsonl" | grep -qF "{\"event\": \"interrupted\", \"signal\": \"SIG$sig\", \"checkpoint\": \"$ck\"}"'
    local cmd
    cmd=$(sed -n 's/^to resume: lenet //p' "$d/out")
    check "$sig: the resume command is printed with this run's options" \
        eval '[[ "$cmd" == "train "*"--epochs 2"*"--resume $ck" ]]'
    eval "\"\$lenet\" $cmd" >"$d/out2" 2>"$d/err2"
    check "$sig: resuming with the printed command gives the uninterrupted run's final checkpoint byte for byte" \
        eval '[ $? -eq 0 ] && cmp -s "$ref" "$d/ck/checkpoint_lenet_1-2_625.ckpt"'
}
interrupt INT 130
interrupt TERM 143

# A second signal: the run is paused in the middle of writing a checkpoint
# (the test-only build's hook), gets SIGINT (which waits for the step to end) and SIGINT again.
d=$tmp/sig2
LENET_TEST_CKPT_PAUSE_MS=20000 "$bin/lenet-testhooks" train $T --max-steps 15 --save-steps 5 --ckpt-dir "$d" >"$tmp/s2.out" 2>"$tmp/s2.err" &
pid=$!
end=$((SECONDS + 120))
while [ "$SECONDS" -lt "$end" ] && kill -0 "$pid" 2>/dev/null; do
    ls "$d"/checkpoint_lenet-1_5.ckpt.tmp.* >/dev/null 2>&1 && break
    sleep 0.02
done
t0=$(date +%s%N)
kill -INT "$pid"; sleep 0.3; kill -INT "$pid"
wait "$pid"; src=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "second signal: exit 130 at once (${ms} ms, the write would pause 20000), saying so" \
    eval '[ "$src" -eq 130 ] && [ "$ms" -lt 10000 ] && grep -q "second signal" "$tmp/s2.err"'
check "second signal: no checkpoint under a final name, only the temporary file" \
    eval '! ls "$d"/*.ckpt >/dev/null 2>&1 && ls "$d"/checkpoint_lenet-1_5.ckpt.tmp.* >/dev/null 2>&1'
run train $T --max-steps 2 --ckpt-dir "$d"
check "second signal: the next run removes the temporary file and claims the prefix anew" \
    eval '[ "$rc" -eq 0 ] && no_temp "$d" && [ -f "$d/checkpoint_lenet-1_2.ckpt" ] && grep -q "removed 1 unfinished" "$tmp/out"'

# ========================================================== 2. fail fast ===
: >"$tmp/afile"
nodata="--data $tmp/no-such-data --threads 1"   # checked before the data is read
expect_error "fail fast: --ckpt-dir under a file, before reading data (exit 2, names it)" 2 "--ckpt-dir" \
    "$tmp/afile/ck" -- train $nodata --ckpt-dir "$tmp/afile/ck"
expect_error "fail fast: --ckpt-dir is a file" 2 "--ckpt-dir" "not a folder" -- train $nodata --ckpt-dir "$tmp/afile"
expect_error "fail fast: --log in a missing folder" 2 "--log" "$tmp/nodir/x.jsonl" -- \
    train $nodata --log "$tmp/nodir/x.jsonl"
expect_error "fail fast: --log is a folder" 2 "--log" "folder" -- train $nodata --log "$tmp"
expect_error "fail fast: --report under a file" 2 "--report" "$tmp/afile/rep" -- train $nodata --report "$tmp/afile/rep"
ro=$tmp/ro
if mount_small_fs "$ro" 64k ro; then
    what="read-only file system"
elif mkdir -p "$ro" && chmod 555 "$ro" && [ "$(id -u)" -ne 0 ]; then
    what="folder without write permission"
else
    ro=
fi
if [ -n "$ro" ]; then
    for opt in --ckpt-dir --log --report; do
        p=$ro/out; [ "$opt" = --log ] && p=$ro/run.jsonl
        expect_error "fail fast: $opt on a $what: one line naming it" 1 "$opt" "$p" -- train $nodata "$opt" "$p"
    done
    check "fail fast: nothing created on the $what" eval '[ -z "$(ls -A "$ro")" ]'
else
    skip "fail fast on a read-only folder: cannot mount here (not root) and permissions do not bind root"
fi

# ==================================================== 3. full disk, ulimit -f ===
# A checkpoint is ~486 KiB: a 700 KiB file system holds one, not two.
fs=$tmp/fs
if mount_small_fs "$fs" 700k; then
    run train $T --max-steps 10 --save-steps 5 --keep-max 1 --ckpt-dir "$fs/ck"
    check "full disk: the second checkpoint fails: exit 1, one line naming it and the OS error" \
        eval '[ "$rc" -eq 1 ] && err_names "$fs/ck/checkpoint_lenet-1_10.ckpt" "No space left on device"'
    run train $T --max-steps 5 --ckpt-dir "$tmp/ck5"
    check "full disk: the last good checkpoint (step 5) is intact (same bytes as a run on a roomy disk)" \
        eval 'cmp -s "$fs/ck/checkpoint_lenet-1_5.ckpt" "$tmp/ck5/checkpoint_lenet-1_5.ckpt"'
    check "full disk: --keep-max 1 kept it; no temporary or lock file left" \
        eval '[ "$(ls -A "$fs/ck")" = "checkpoint_lenet-1_5.ckpt" ]'
    run eval --data "$data" --ckpt "$fs/ck/checkpoint_lenet-1_5.ckpt" --threads 1
    check "full disk: the kept checkpoint loads (lenet eval)" eval '[ "$rc" -eq 0 ]'
    run train $T --max-steps 10 --resume "$fs/ck/checkpoint_lenet-1_5.ckpt" --ckpt-dir "$tmp/ck-res"
    check "full disk: ... and resumes" eval '[ "$rc" -eq 0 ] && [ -f "$tmp/ck-res/checkpoint_lenet-1_10.ckpt" ]'
    rm -rf "${fs:?}"/*
    fill "$fs"
    for fmt in onnx safetensors mindspore; do
        run export --ckpt "$tmp/ck5/checkpoint_lenet-1_5.ckpt" --format "$fmt" -o "$fs/model.$fmt"
        check "full disk: export $fmt: exit 1, one line naming the output and the OS error, nothing left" \
            eval '[ "$rc" -eq 1 ] && err_names "$fs/model.$fmt" "No space left on device" && [ ! -e "$fs/model.$fmt" ] && no_temp "$fs"'
    done
    run inspect --data "$data" --png "$fs/item.png" --grid "$fs/grid.png"
    check "full disk: inspect --png: exit 1, one line naming the picture, nothing left" \
        eval '[ "$rc" -eq 1 ] && err_names "$fs/item.png" "No space left on device" && no_temp "$fs" && [ ! -e "$fs/item.png" ]'
    "$lenet" train $T --max-steps 20 --log "$tmp/full.jsonl" --ckpt-dir "$tmp/ck-full" >/dev/null 2>&1
    run report --log "$tmp/full.jsonl" --data "$data" -o "$fs/rep"
    check "full disk: report: exit 1, one line naming a file in the folder, no temporary file" \
        eval '[ "$rc" -eq 1 ] && err_names "$fs/rep/" && no_temp "$fs/rep"'
    check "full disk: report: ... and the OS error" eval 'err_names "No space left on device"'
    rm -rf "${fs:?}"/rep
    run train $T --max-steps 20 --log "$fs/run.jsonl" --ckpt-dir "$tmp/ck-log"
    check "full disk: --log: exit 1, one line naming the log and the OS error" \
        eval '[ "$rc" -eq 1 ] && err_names "$fs/run.jsonl" "No space left on device"'
else
    skip "full disk on a small tmpfs: mounting is not allowed here (needs root)"
fi
# ulimit -f (in 1 KiB blocks): a checkpoint is larger than 300 KiB.
(ulimit -f 300; "$lenet" train $T --max-steps 5 --ckpt-dir "$tmp/ck-fsize" >"$tmp/out" 2>"$tmp/err") 2>/dev/null; rc=$?
check "ulimit -f: exit 1 (not killed by SIGXFSZ), one line naming the checkpoint and 'File too large'" \
    eval '[ "$rc" -eq 1 ] && err_names "checkpoint_lenet-1_5.ckpt" "File too large"'
check "ulimit -f: no checkpoint and no temporary file left" \
    eval 'no_temp "$tmp/ck-fsize" && ! ls "$tmp/ck-fsize"/*.ckpt >/dev/null 2>&1'

# ============================================================== 4. races ===
"$lenet" train $T --max-steps 6 --save-steps 3 --ckpt-dir "$tmp/race-ref" >/dev/null 2>&1
for round in 1 2 3; do
    d=$tmp/race$round
    mkdir -p "$d"
    [ "$round" -eq 3 ] && cp "$tmp/ck5/checkpoint_lenet-1_5.ckpt" "$d/"   # a folder already in use
    pids=()
    for k in 1 2 3 4; do
        "$lenet" train $T --max-steps 6 --save-steps 3 --ckpt-dir "$d" --prefix checkpoint_lenet \
            >"$d.out$k" 2>"$d.err$k" &
        pids+=($!)
    done
    ok=1
    for p in "${pids[@]}"; do wait "$p" || ok=0; done
    prefixes=$(cat "$d".out* | sed -n 's#^saved checkpoint .*/\(checkpoint_lenet[_0-9]*\)-1_6.ckpt$#\1#p' | sort | tr '\n' ' ')
    want="checkpoint_lenet checkpoint_lenet_1 checkpoint_lenet_2 checkpoint_lenet_3 "
    [ "$round" -eq 3 ] && want="checkpoint_lenet_1 checkpoint_lenet_2 checkpoint_lenet_3 checkpoint_lenet_4 "
    check "races, round $round: four runs at once each succeed and take their own prefix ($prefixes)" \
        eval '[ "$ok" -eq 1 ] && [ "$prefixes" = "$want" ]'
    same=1
    for f in "$d"/checkpoint_lenet*-1_[36].ckpt; do
        cmp -s "$f" "$tmp/race-ref/checkpoint_lenet-${f##*-}" || same=0
    done
    n=$(ls "$d" | wc -l)
    want_n=8; [ "$round" -eq 3 ] && want_n=9
    check "races, round $round: $want_n checkpoints, each run's identical to the others (nothing interleaved), no lock or temporary file" \
        eval '[ "$same" -eq 1 ] && [ "$n" -eq "$want_n" ] && [ -z "$(ls -a "$d" | grep -E "\.lock$|\.tmp\.")" ]'
done

# A run that saves and ends between another run's choice of prefix and its
# claim (the test-only build waits there for a gate file): the later run must
# still see the first run's checkpoints and take the next prefix, not reuse
# the one just released (its no_replace writes would then fail).
check "the claim gate exists only in the test-only build, not in lenet itself" \
    eval '! grep -qa LENET_TEST_CLAIM_GATE "$lenet" && grep -qa LENET_TEST_CLAIM_GATE "$bin/lenet-testhooks"'
d=$tmp/race-late
LENET_TEST_CLAIM_GATE=$tmp/gate "$bin/lenet-testhooks" train $T --max-steps 6 --save-steps 3 --ckpt-dir "$d" \
    >"$d.out2" 2>"$d.err2" &
late=$!
for _ in $(seq 1 1200); do grep -q "^test hook: chose prefix checkpoint_lenet;" "$d.err2" 2>/dev/null && break; sleep 0.05; done
"$lenet" train $T --max-steps 6 --save-steps 3 --ckpt-dir "$d" >"$d.out1" 2>"$d.err1"; rc1=$?
: >"$tmp/gate"
wait "$late"; rc2=$?
what="a run ending between another's choice of prefix and its claim: both succeed, the later takes checkpoint_lenet_1"
files=$(ls "$d" | tr '\n' ' ')
if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && grep -q "^test hook: chose prefix checkpoint_lenet;" "$d.err2" &&
   [ "$files" = "checkpoint_lenet-1_3.ckpt checkpoint_lenet-1_6.ckpt checkpoint_lenet_1-1_3.ckpt checkpoint_lenet_1-1_6.ckpt " ] &&
   cmp -s "$d/checkpoint_lenet_1-1_6.ckpt" "$tmp/race-ref/checkpoint_lenet-1_6.ckpt"; then
    pass "$what"
else
    fail "$what (exits $rc1 and $rc2; files: $files; the later run: $(tail -n 2 "$d.err2" | tr '\n' '|'))"
fi

# ===================================================== 5. memory limits ===
if under_asan; then
    skip "ulimit -v under AddressSanitizer (its shadow memory needs terabytes of address space)"
else
    (ulimit -v 1000000; "$lenet" train $T --max-steps 5 --ckpt-dir "$tmp/vm-ok" >"$tmp/out" 2>"$tmp/err"); rc=$?
    check "ulimit -v 1 GB: training works" eval '[ "$rc" -eq 0 ] && [ -f "$tmp/vm-ok/checkpoint_lenet-1_5.ckpt" ]'
    bad=0 failures=0 threads=$(nproc)
    for kb in 10000 12000 14000 16000 18000 20000 24000 32000 64000 128000; do
        d=$tmp/vm$kb
        (ulimit -v $kb; "$lenet" train --data "$data" --threads "$threads" --print-every 0 --max-steps 5 \
            --ckpt-dir "$d-ck" --log "$d.jsonl" >"$tmp/out" 2>"$tmp/err"); rc=$?
        if [ "$rc" -eq 1 ]; then
            failures=$((failures + 1))
            # set-up failures leave nothing; one while saving a checkpoint leaves no checkpoint nor temporary file
            if ! err_is_line "lenet: " || ! grep -qiE "memory|ulimit" "$tmp/err" || [ -n "$(ls -A "$d-ck" 2>/dev/null)" ] ||
               { ! grep -q "writing" "$tmp/err" && { [ -e "$d-ck" ] || [ -e "$d.jsonl" ]; }; }; then
                bad=1; echo "    ulimit -v $kb: exit 1 but: $(tr '\n' '|' <"$tmp/err"), outputs: $(ls "$d-ck" "$d.jsonl" 2>&1 | tr '\n' ' ')"
            fi
        elif [ "$rc" -eq 127 ] && grep -q "error while loading shared libraries" "$tmp/err"; then
            :   # the dynamic loader gave up before lenet ran: too little even to start
        elif [ "$rc" -ne 0 ]; then
            bad=1; echo "    ulimit -v $kb: exit $rc: $(head -c 300 "$tmp/err" | tr '\n' '|')"
        fi
    done
    check "ulimit -v 10-128 MB: each run works or says memory in one line (exit 1), no crash, no outputs ($failures failed cleanly)" \
        eval '[ "$bad" -eq 0 ] && [ "$failures" -ge 3 ] && [ "$rc" -eq 0 ]'
    "$lenet" train $T --max-steps 5 --log "$tmp/vm.jsonl" --ckpt-dir "$tmp/vm-ck" >/dev/null 2>&1
    (ulimit -v 16000; "$lenet" report --log "$tmp/vm.jsonl" --data "$data" -o "$tmp/vm-rep" >"$tmp/out" 2>"$tmp/err"); rc=$?
    check "ulimit -v 16 MB: report says memory in one line (exit 1), writes no file" \
        eval '[ "$rc" -eq 1 ] && err_names "memory" && [ -z "$(ls -A "$tmp/vm-rep" 2>/dev/null)" ]'
fi

# ===================================================== 6. a cut log line ===
"$lenet" train $T --max-steps 20 --log "$tmp/cut.jsonl" --ckpt-dir "$tmp/ck-cut" >/dev/null 2>&1
lines=$(wc -l <"$tmp/cut.jsonl")
head -c -30 "$tmp/cut.jsonl" >"$tmp/cut2.jsonl"   # the "done" line cut in the middle
run report --log "$tmp/cut2.jsonl" --ckpt "$tmp/ck-cut/checkpoint_lenet-1_20.ckpt" --data "$data" -o "$tmp/rep-cut"
check "report on a log cut mid-line: a warning naming the line, the report still written" \
    eval '[ "$rc" -eq 0 ] && grep -q "warning: last line cut short (the run was killed while writing it): $tmp/cut2.jsonl:$lines;" "$tmp/err" &&
          [ -f "$tmp/rep-cut/index.html" ]'

# ================================================ 7. injected I/O errors ===
if [ ! -f "$shim" ]; then
    fail "$shim not built (make $BUILD/faultinject.so)"
    finish
fi
# inject CALL N ERRNO PATH ARGS...: run lenet ARGS with the Nth CALL on PATH failing.
inject() {
    local call=$1 n=$2 e=$3 p=$4
    shift 4
    LD_PRELOAD=$shim LENET_FAULT_CALL=$call LENET_FAULT_N=$n LENET_FAULT_ERRNO=$e LENET_FAULT_PATH=$p \
        LENET_FAULT_COUNT=$tmp/count "$lenet" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
inject write 1 ENOSPC /nowhere/ summary
check "the shim loads (under this build too) and counts nothing it should not" eval '[ "$rc" -eq 0 ] && [ "$(cat "$tmp/count")" = 0 ]'

# Checkpoints: every write, fsync and link of two checkpoints (steps 3 and 6,
# --keep-max 1) fails in turn (a sample of the Nth calls for write).
declare -A errtext=([ENOSPC]="No space left on device" [EIO]="Input/output error")
"$lenet" train $T --max-steps 3 --ckpt-dir "$tmp/inj-ref" >/dev/null 2>&1
for call in write fsync link; do
    d=$tmp/inj-$call
    inject "$call" 1000000 ENOSPC "$d/" train $T --max-steps 6 --save-steps 3 --keep-max 1 --ckpt-dir "$d"
    total=$(cat "$tmp/count")
    ns=$(seq 1 "$total")
    [ "$total" -gt 12 ] && ns="1 2 3 $((total / 4)) $((total / 2)) $((total / 2 + 1)) $((total * 3 / 4)) $((total - 1)) $total"
    bad=0
    for n in $ns; do
        for e in ENOSPC EIO; do
            rm -rf "$d"
            inject "$call" "$n" "$e" "$d/" train $T --max-steps 6 --save-steps 3 --keep-max 1 --ckpt-dir "$d"
            left=$(ls -A "$d" 2>/dev/null | tr '\n' ' ')
            good=1
            [ "$rc" -eq 1 ] && err_names "$d/checkpoint_lenet-1_" "${errtext[$e]}" || good=0
            no_temp "$d" || good=0
            # the first checkpoint fails, or the second does and the first is kept whole
            case $left in
                "") ;;
                "checkpoint_lenet-1_3.ckpt ")
                    cmp -s "$d/checkpoint_lenet-1_3.ckpt" "$tmp/inj-ref/checkpoint_lenet-1_3.ckpt" || good=0 ;;
                *) good=0 ;;
            esac
            [ "$good" -eq 1 ] || { bad=1; echo "    $call #$n $e: exit $rc, left: $left, stderr: $(head -c 300 "$tmp/err" | tr '\n' '|')"; }
        done
    done
    check "checkpoint: $call failing (calls $(echo $ns | tr ' ' ',') of $total, ENOSPC and EIO): exit 1, one line naming it and the error; the older checkpoint kept whole; no temporary file" \
        eval '[ "$total" -gt 0 ] && [ "$bad" -eq 0 ]'
done

# The log: its first line, a step line, the last line.
for n in 1 5 22; do
    inject write "$n" ENOSPC "inj.jsonl" train $T --max-steps 20 --log "$tmp/inj.jsonl" --ckpt-dir "$tmp/inj-log$n"
    check "log: write #$n fails: exit 1, one line naming the log and the error" \
        eval '[ "$rc" -eq 1 ] && err_names "$tmp/inj.jsonl" "No space left on device"'
    rm -f "$tmp/inj.jsonl"
done

# Report, exports and inspect: each of write / fsync / rename failing.
"$lenet" train $T --max-steps 20 --log "$tmp/rep.jsonl" --ckpt-dir "$tmp/ck-rep" >/dev/null 2>&1
ck=$tmp/ck-rep/checkpoint_lenet-1_20.ckpt
for call in write fsync rename; do
    for target in index.html loss_steps.png confusion.png; do
        rm -rf "$tmp/rep"
        inject "$call" 1 EIO "rep/$target" report --log "$tmp/rep.jsonl" --data "$data" -o "$tmp/rep"
        check "report: $call of $target fails: exit 1, one line naming it, no temporary file" \
            eval '[ "$rc" -eq 1 ] && err_names "$target" "Input/output error" && no_temp "$tmp/rep" && [ ! -e "$tmp/rep/$target" ]'
    done
    for fmt in onnx safetensors mindspore; do
        rm -rf "$tmp/exp"; mkdir -p "$tmp/exp"
        inject "$call" 1 ENOSPC "exp/" export --ckpt "$ck" --format "$fmt" -o "$tmp/exp/m.$fmt"
        check "export $fmt: $call fails: exit 1, one line naming the output, nothing left" \
            eval '[ "$rc" -eq 1 ] && err_names "m.$fmt" "No space left on device" && [ -z "$(ls -A "$tmp/exp")" ]'
    done
    rm -rf "$tmp/ins"; mkdir -p "$tmp/ins"
    inject "$call" 1 ENOSPC "ins/" inspect --data "$data" --png "$tmp/ins/item.png"
    check "inspect --png: $call fails: exit 1, one line naming the picture, nothing left" \
        eval '[ "$rc" -eq 1 ] && err_names "item.png" "No space left on device" && [ -z "$(ls -A "$tmp/ins")" ]'
done

# ============================================= 8. libmicrohttpd missing ===
# (under timeout: a serve that started after all would wait for requests forever;
# env, so that timeout itself runs without the shim)
timeout 60 env LD_PRELOAD="$shim" LENET_FAULT_CALL=dlopen LENET_FAULT_PATH=libmicrohttpd LENET_FAULT_COUNT="$tmp/count" \
    "$lenet" serve --ckpt "$ck" --bind 127.0.0.1 --port 0 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "serve without libmicrohttpd: exit 1, one line naming it and what to install" \
    eval '[ "$rc" -eq 1 ] && err_names libmicrohttpd.so.12 "apt-get install libmicrohttpd12"'
inject dlopen 1 0 libmicrohttpd eval --data "$data" --ckpt "$ck" --threads 2
check "eval (which may re-execute itself: src/cli/main.c) opens no libmicrohttpd: it runs, the shim counted nothing" \
    eval '[ "$rc" -eq 0 ] && [ "$(cat "$tmp/count")" = 0 ]'
check "lenet is not linked against libmicrohttpd (nor GnuTLS): only serve loads it" \
    eval '! ldd "$lenet" | grep -q -e libmicrohttpd -e libgnutls'
inject dlopen 1 0 libmpi train $T --max-steps 2 --threads 2 --ckpt-dir "$tmp/nompi-open"
check "train outside mpirun opens no libmpi (only a rank under mpirun does): it runs, the shim counted nothing" \
    eval '[ "$rc" -eq 0 ] && [ "$(cat "$tmp/count")" = 0 ]'
finish
