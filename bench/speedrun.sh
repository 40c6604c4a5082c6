#!/usr/bin/env bash
# bench/speedrun.sh - `make speedrun`: `lenet train --recipe speedrun` for
# seeds 1-10 (SEEDS to change), each timed from process start to process
# end (data loading, training, the one evaluation, the checkpoint), then the
# same recipe in PyTorch (bench/torch_speedrun.py, timed the same way) for
# TORCH_SEEDS (default: the same seeds). Prints per seed the wall time, the
# steps and samples, the final test accuracy; then the mean accuracy, the
# worst seed and the mean time of each, and their ratio.
set -euo pipefail
BUILD=${BUILD:-build}
DATA=${DATA:-datasets/MNIST_Data}
SEEDS=${SEEDS:-1 2 3 4 5 6 7 8 9 10}
TORCH_SEEDS=${TORCH_SEEDS:-$SEEDS}
# PyTorch 1.13 here trains LeNet-5 faster on 1 thread than on 2 (make bench): its best.
TORCH_THREADS=${TORCH_THREADS:-1}
# TORCH_FLAGS=--flush-denormal: PyTorch with subnormals flushed, as our engine computes
TORCH_FLAGS=${TORCH_FLAGS:-}
PY=${PY:-/usr/bin/python3}
lenet=$BUILD/lenet
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
now() { date +%s.%N; }

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs"
# How fast the host runs this hour (a shared machine's speed moves by 10-20%
# from hour to hour): its FMA peak (bench/fma_peak.c) before and after.
peak() {
    local j
    [ -x "$BUILD/fma_peak" ] || { echo "not measured (make $BUILD/fma_peak)"; return; }
    j=$("$BUILD/fma_peak" 2>&1) || { echo "not measured (${j:-fma_peak failed})"; return; }
    awk -F'[:,}]' '{for (i = 1; i < NF; i++) {if ($i ~ /gflops_1/) a = $(i + 1); if ($i ~ /gflops_n/) b = $(i + 1)}}
        END {printf "%.0f GFLOP/s on 1 thread, %.0f on all\n", a, b}' <<<"$j"
}
echo "FMA peak before: $(peak)"
printf '%-8s %-5s %9s %7s %9s %10s\n' side seed wall_s steps samples test_acc
ours=()
for s in $SEEDS; do
    t0=$(now)
    $lenet train --recipe speedrun --data "$DATA" --seed "$s" --ckpt-dir "$tmp/ck-$s" --json \
        >"$tmp/out-$s" 2>"$tmp/err-$s" || { cat "$tmp/err-$s" >&2; exit 1; }
    t1=$(now)
    steps=$(grep -o '"steps": [0-9]*' "$tmp/out-$s" | awk '{n += $2} END {print n}')
    batch=$(grep -o 'batch_size=[0-9]*' "$tmp/err-$s" | head -1 | cut -d= -f2)
    acc=$(grep '"event": "epoch"' "$tmp/out-$s" | tail -1 | grep -o '"test_accuracy": [0-9.]*' | awk '{print $2}')
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
    printf '%-8s %-5s %9.3f %7d %9d %9.2f%%\n' lenet "$s" "$wall" "$steps" $((steps * batch)) "$(awk -v a="$acc" 'BEGIN {print 100 * a}')"
    ours+=("$wall $acc")
    rm -rf "$tmp/ck-$s"
done
torch=()
if $PY -c 'import torch, cv2' 2>/dev/null; then
    for s in $TORCH_SEEDS; do
        t0=$(now)
        $PY bench/torch_speedrun.py "$DATA" --seed "$s" --threads "$TORCH_THREADS" $TORCH_FLAGS >"$tmp/torch-$s"
        t1=$(now)
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
        acc=$(grep -o '"test_accuracy": [0-9.]*' "$tmp/torch-$s" | awk '{print $2}')
        steps=$(grep -o '"steps": [0-9]*' "$tmp/torch-$s" | awk '{print $2}')
        samples=$(grep -o '"samples": [0-9]*' "$tmp/torch-$s" | awk '{print $2}')
        printf '%-8s %-5s %9.3f %7d %9d %9.2f%%\n' pytorch "$s" "$wall" "$steps" "$samples" "$(awk -v a="$acc" 'BEGIN {print 100 * a}')"
        torch+=("$wall $acc")
    done
else
    echo "pytorch: skipped (needs python3-torch and python3-opencv: apt-get install python3-torch python3-opencv)"
fi
# "wall acc" lines -> "mean_acc worst_acc mean_wall n"
stats() { awk '{t += $1; a += $2; if (NR == 1 || $2 < w) w = $2; n++} END {if (n) printf "%.4f %.4f %.3f %d", 100 * a / n, 100 * w, t / n, n}'; }
echo
read -r ma mw mt mn <<<"$(printf '%s\n' "${ours[@]}" | stats)"
echo "FMA peak after:  $(peak)"
echo "lenet:   mean accuracy $ma%, worst seed $mw%, mean wall time $mt s ($mn seeds)"
if [ "${#torch[@]}" -gt 0 ]; then
    read -r pa pw pt pn <<<"$(printf '%s\n' "${torch[@]}" | stats)"
    echo "pytorch: mean accuracy $pa%, worst seed $pw%, mean wall time $pt s ($pn seeds)"
    awk -v a="$mt" -v b="$pt" 'BEGIN {printf "lenet takes %.3f of PyTorch'"'"'s time (%.1fx faster)\n", a / b, b / a}'
fi
