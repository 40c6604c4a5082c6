#!/usr/bin/env bash
# test_thread_bits.sh - the thread count never changes a result: training
# checkpoints are byte-identical on 1, 2 and 3 threads, for a batch of 16
# (one group of 16 samples, its work shared by the threads stage by stage:
# the speedrun recipe), a batch of 48 (three groups: two one to a thread,
# the last shared; on 3 threads, one each, summed without a barrier as the
# groups' backward passes progress), a batch of 64 (four groups, two a
# thread on 2 threads, no barrier either) and a batch of 5 with a loss
# scale and a group with grad centralisation (the optimizer's whole-tensor
# part).
set -u
. "$(dirname "$0")/lib.sh"
make_tmp
require_mnist "thread-count bit identity"
mnist_subset "$tmp/d" 960 100

recipes=("--recipe speedrun --max-steps 40"
         "--batch-size 48 --epochs 1 --nesterov --weight-decay 1e-4"
         "--batch-size 64 --max-steps 40 --weight-decay 1e-4"
         "--batch-size 5 --max-steps 60 --loss-scale 128 --group conv2.weight:grad_centralization=1")
for ri in "${!recipes[@]}"; do
    r=${recipes[$ri]}
    sums=()
    for th in 1 2 3; do
        d=$tmp/ck-$ri-$th
        # shellcheck disable=SC2086  # the recipe is a list of options
        run train --data "$tmp/d" --threads "$th" --ckpt-dir "$d" --print-every 0 --eval-every 0 $r
        ck=$(ls "$d"/*.ckpt 2>/dev/null | tail -1)
        sums+=("$( [ "$rc" = 0 ] && [ -n "$ck" ] && sha256sum "$ck" | cut -c1-16)")
    done
    same() { [ -n "${sums[0]}" ] && [ "${sums[0]}" = "${sums[1]}" ] && [ "${sums[0]}" = "${sums[2]}" ]; }
    check "$r: checkpoints on 1, 2, 3 threads byte-identical (${sums[*]})" same
done
finish
