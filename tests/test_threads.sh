#!/usr/bin/env bash
# test_threads.sh - without --threads, train, eval and predict use every CPU
# the process may use. The CLI sets how OpenMP threads wait (before the
# runtime starts, or by re-executing itself: src/cli/main.c), checked by
# what the runtime prints; with OMP_PROC_BIND set (by a user) the runtime pins the initial
# thread before main, and the count must be read from the runtime's places,
# not the narrowed affinity mask. Checked by what
# train echoes and, for all three commands, by the threads each one creates
# (strace counts clone calls): the default must create as many as an
# explicit --threads $(nproc) and more than --threads 1.
set -u
. "$(dirname "$0")/lib.sh"
make_tmp
require_mnist "default thread count"
ncpu=$(nproc)
if [ "$ncpu" -lt 2 ]; then skip "only $ncpu CPU: nothing to show"; finish; fi

mnist_subset "$tmp/d" 640 200
run train --data "$tmp/d" --max-steps 4 --ckpt-dir "$tmp/ck" --print-every 0
check "train without --threads echoes threads=$ncpu" grep -q "threads=$ncpu " "$tmp/out"
OMP_PROC_BIND=true OMP_PLACES=cores run train --data "$tmp/d" --max-steps 4 --ckpt-dir "$tmp/ck-bound" --print-every 0
check "train without --threads, threads bound by the user (OMP_PROC_BIND): threads=$ncpu" \
    grep -q "threads=$ncpu " "$tmp/out"
ck=$(ls "$tmp"/ck/*.ckpt | head -1)

# How the threads wait (src/cli/main.c): with more than one thread and none
# of the OpenMP variables set, the runtime gets the bounded spin (what the
# runtime itself prints with OMP_DISPLAY_ENV=verbose, in its last block);
# with --threads 1, its default. A CLI with the runtime linked in (no shared
# libgomp / libomp) sets it before the runtime starts: one execve; with a
# shared runtime it re-executes itself: two (counted by strace).
spin() { # ARGS... -> the last spin setting the runtime printed
    OMP_DISPLAY_ENV=verbose "$lenet" "$@" 2>&1 >/dev/null |
        awk '/GOMP_SPINCOUNT|KMP_BLOCKTIME/ { v = $0 } END { gsub(/[^0-9]/, "", v); print v }'
}
execs() { # ARGS... -> how many times the program was executed
    if command -v strace >/dev/null; then
        strace -f -qq -e trace=execve -o "$tmp/strace-exec" "$lenet" "$@" >/dev/null 2>&1
        grep -c 'execve(' "$tmp/strace-exec"
    else echo "?"; fi
}
if ldd "$lenet" | grep -qE 'libgomp|libomp'; then want_n=2; else want_n=1; fi
v=$(spin eval --data "$tmp/d" --ckpt "$ck"); n=$(execs eval --data "$tmp/d" --ckpt "$ck")
check "eval on $ncpu threads: the runtime's spin bounded (GOMP_SPINCOUNT 3000 or KMP_BLOCKTIME 1: got $v), executed $want_n time(s) (got $n)" \
    eval '{ [ "$v" = 3000 ] || [ "$v" = 1 ]; } && { [ "$n" = "$want_n" ] || [ "$n" = "?" ]; }'
v=$(spin eval --data "$tmp/d" --ckpt "$ck" --threads 1); n=$(execs eval --data "$tmp/d" --ckpt "$ck" --threads 1)
check "eval --threads 1: the runtime's own default spin (got $v), executed once (got $n)" \
    eval '[ "$v" != 3000 ] && [ "$v" != 1 ] && [ -n "$v" ] && { [ "$n" = 1 ] || [ "$n" = "?" ]; }'
imgs=()
for i in $(seq 0 39); do
    $lenet inspect --data "$tmp/d" --split test --index "$i" --png "$tmp/d$i.png" >/dev/null 2>&1
    imgs+=("$tmp/d$i.png")
done

if ! command -v strace >/dev/null; then skip "strace missing: thread creation not counted"; finish; fi
clones() { # ARGS... -> number of threads the command created (all processes)
    strace -f -qq -e trace=clone,clone3 -o "$tmp/strace" "$lenet" "$@" >/dev/null 2>&1
    grep -cE 'clone3?\(.*CLONE_THREAD' "$tmp/strace"
}
for cmd in train eval predict; do
    case $cmd in
    train) args=(train --data "$tmp/d" --max-steps 2 --ckpt-dir "$tmp/ck-$RANDOM" --print-every 0) ;;
    eval) args=(eval --data "$tmp/d" --ckpt "$ck") ;;
    predict) args=(predict --ckpt "$ck" "${imgs[@]}") ;;
    esac
    d=$(clones "${args[@]}")
    n=$(clones "${args[@]}" --threads "$ncpu")
    one=$(clones "${args[@]}" --threads 1)
    if [ "$d" -eq "$n" ] && [ "$d" -gt "$one" ]; then
        pass "$cmd without --threads creates as many threads as --threads $ncpu ($d), more than --threads 1 ($one)"
    else
        fail "$cmd without --threads created $d threads; --threads $ncpu $n, --threads 1 $one"
    fi
done
finish
