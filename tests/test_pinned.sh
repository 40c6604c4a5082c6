#!/usr/bin/env bash
# test_pinned.sh - results pinned by hash. The sha256 of the checkpoint from
# a fixed short run (the tutorial's plain recipe, and Nesterov + weight
# decay + a cosine schedule + a parameter group) and of `eval --json` on it
# must not move: any
# change to the arithmetic, the data order, the initialisation or the
# checkpoint bytes shows here. The FMA kernels (AVX2, AVX-512) give one set
# of bits, the generic SSE2 kernels another; both are pinned.
set -u
. "$(dirname "$0")/lib.sh"
make_tmp
require_mnist "pinned checkpoint and eval hashes"

fancy=(--nesterov --weight-decay 5e-4 --lr-schedule cosine --lr 0.05 --lr-min 0.001 --epochs 2
       --group 'conv*:lr=0.02,weight_decay=0')
# kernels recipe checkpoint-sha256 eval-json-sha256
pins="
avx2 plain 0e8bde9037f612a4 53900da61f3034bb
avx2 fancy 25091c0aeb24fca7 e2519acc78b37c69
avx512 plain 0e8bde9037f612a4 53900da61f3034bb
avx512 fancy 25091c0aeb24fca7 e2519acc78b37c69
generic plain 5b1be4476f9c3351 5268d735a436a886
generic fancy c2cf0cd558a594e0 596d8e5db3b8206f"
# The kernel sets this CPU can run, the last the one it picks by default.
# Under ASan (make asan, ~10x slower here) only that one is run; the plain
# suite pins all it can.
cpu_kernels=generic
grep -qw avx2 /proc/cpuinfo && cpu_kernels="$cpu_kernels avx2"
grep -qw avx512f /proc/cpuinfo && cpu_kernels="$cpu_kernels avx512"
own=${cpu_kernels##* }
while read -r k recipe want_ck want_eval; do
    [ -n "$k" ] || continue
    case " $cpu_kernels " in *" $k "*) ;; *) skip "$k $recipe: CPU has no $k"; continue ;; esac
    if under_asan && [ "$k" != "$own" ]; then skip "$k $recipe: under ASan only the default $own kernels"; continue; fi
    extra=()
    [ "$recipe" = fancy ] && extra=("${fancy[@]}")
    d=$tmp/ck-$k-$recipe
    run train --data "$mnist" --max-steps 300 --threads 1 --ckpt-dir "$d" --print-every 0 --kernels "$k" "${extra[@]}"
    ck=$(ls "$d"/*.ckpt 2>/dev/null | head -1)
    got_ck=$( [ -n "$ck" ] && sha256sum "$ck" | cut -c1-16)
    check "$k $recipe: 300-step checkpoint sha256 $want_ck (got ${got_ck:-none})" [ "$got_ck" = "$want_ck" ]
    [ -n "$ck" ] || continue
    got_eval=$("$lenet" eval --ckpt "$ck" --data "$mnist" --json --threads 1 --kernels "$k" | sha256sum | cut -c1-16)
    check "$k $recipe: eval --json sha256 $want_eval (got $got_eval)" [ "$got_eval" = "$want_eval" ]
done <<<"$pins"
finish
