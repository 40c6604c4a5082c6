#!/usr/bin/env bash
# bench/run.sh - `make bench`: our trainer and PyTorch (bench/torch_lenet.py,
# the identical recipe) side by side on this machine, RUNS times each
# (default 5); prints the medians and our/PyTorch ratios, and writes them
# with the machine's description to bench/results.md. With Open MPI (and
# lenet built with it) also data parallel: 2 ranks x 1 thread against
# 1 process x 2 threads (epoch time, all-reduce time and bytes per step).
#   BUILD=build RUNS=3 DATA=datasets/MNIST_Data bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
DATA=${DATA:-datasets/MNIST_Data}
PY=/usr/bin/python3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

have_torch=1
$PY -c 'import torch, cv2, numpy' 2>/dev/null || have_torch=0
if [ "$have_torch" = 0 ]; then
    echo "bench: PyTorch side skipped: /usr/bin/python3 cannot import torch, cv2, numpy" >&2
    echo "bench: install them with: apt-get install python3-torch python3-opencv python3-numpy" >&2
fi

# bench_infer runs the library directly: give it the OpenMP settings that
# `lenet train/eval` choose for themselves with 2 threads (src/cli/main.c),
# unless the caller has set any of them.
omp_env=(env)
if [ -z "${OMP_WAIT_POLICY:-}${GOMP_SPINCOUNT:-}${KMP_BLOCKTIME:-}${OMP_PROC_BIND:-}${OMP_PLACES:-}" ]; then
    omp_env=(env GOMP_SPINCOUNT=3000 KMP_BLOCKTIME=1)
fi

# The machine's FMA peak (bench/fma_peak.c), 1 thread and every CPU, before
# the runs; the epochs and layers are reported against it.
"$BUILD/fma_peak" > "$out/peak.json"
# The kernels alone, one group of 16 on 1 thread, data hot in cache (the
# best and the median step: how much the machine's state moves them).
"$BUILD/bench_layers" auto 3000 > "$out/layers.txt"
# What a 2-thread step's hand-over of parameters and gradients costs here.
"$BUILD/core_exchange" > "$out/exch.json" 2>/dev/null || echo null > "$out/exch.json"
have_mpi=0
# (built with MPI, lenet holds the name of the libmpi it opens under mpirun)
command -v mpirun >/dev/null 2>&1 && grep -q -a libmpi.so "$BUILD/lenet" && have_mpi=1
[ "$have_mpi" = 0 ] && echo "bench: data-parallel side skipped: no mpirun, or lenet built without MPI" >&2
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

for r in $(seq 1 "$RUNS"); do
    echo "== run $r of $RUNS" >&2
    for t in 1 2; do
        [ "$t" = 2 ] && "$BUILD/core_latency" > "$out/lat_$r" 2>/dev/null || true
        /usr/bin/time -f '%M' -o "$out/rss_${t}_$r" \
            "$BUILD/lenet" train --data "$DATA" --epochs 1 --threads "$t" --seed 1 --print-every 0 \
            --ckpt-dir "$out/ck_${t}_$r" --json > "$out/train_${t}_$r.json" 2>/dev/null
    done
    # mixed precision (--amp-level O2), the same epoch with 1 and 2 threads
    for t in 1 2; do
        "$BUILD/lenet" train --data "$DATA" --epochs 1 --threads "$t" --seed 1 --print-every 0 --amp-level O2 \
            --ckpt-dir "$out/cko_${t}_$r" --json > "$out/o2_${t}_$r.json" 2> "$out/o2_${t}_$r.err"
    done
    # per-layer thread time of a 1-thread epoch (separate run: timing every layer costs a little)
    "$BUILD/lenet" train --data "$DATA" --epochs 1 --threads 1 --seed 1 --print-every 0 --profile \
        --ckpt-dir "$out/ckp_$r" --json > "$out/prof_$r.json" 2>/dev/null
    if [ "$have_mpi" = 1 ]; then # one rank per core, one thread each
        mpirun -q -np 2 --bind-to core "$BUILD/lenet" train --data "$DATA" --epochs 1 --threads 1 --seed 1 \
            --print-every 0 --ckpt-dir "$out/ck_mpi_$r" --json > "$out/mpi_$r.json" 2> "$out/mpi_$r.err"
    fi
    "${omp_env[@]}" "$BUILD/bench_infer" "$DATA" 2 > "$out/infer_$r.json"
    # `lenet eval` of the 10,000 test images as a whole process, default
    # options (reading, preparing, loading the checkpoint, threads, forward)
    ck=$(ls "$out/ck_2_$r"/*.ckpt | head -n 1)
    for k in 1 2 3; do
        t0=$(date +%s%N)
        "$BUILD/lenet" eval --data "$DATA" --ckpt "$ck" --json > /dev/null
        echo $(( $(date +%s%N) - t0 )) >> "$out/evalproc_$r"
    done
    if [ "$have_torch" = 1 ]; then
        $PY bench/torch_lenet.py "$DATA" > "$out/torch_$r.json"
    fi
done

$PY - "$out" "$RUNS" "$have_torch" "$have_mpi" <<'PYEOF'
import json, os, platform, re, statistics, subprocess, sys
out, runs, have_torch, have_mpi = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
med = statistics.median
def train_secs(t, kind="train"):
    """Our epoch seconds with t threads, run by run (kind "o2": --amp-level O2)."""
    v = []
    for r in range(1, runs + 1):
        lines = [json.loads(l) for l in open(f"{out}/{kind}_{t}_{r}.json") if l.strip()]
        v.append(next(l for l in lines if l.get("event") == "epoch")["train_seconds"])
    return v
def ours_train(t):
    return med(train_secs(t))
def rss(t):
    return med(int(open(f"{out}/rss_{t}_{r}").read().split()[-1]) / 1024 for r in range(1, runs + 1))
acc = [json.loads(l) for l in open(f"{out}/train_2_1.json") if l.strip()][0]["test_accuracy"]
inf = [json.load(open(f"{out}/infer_{r}.json")) for r in range(1, runs + 1)]
evalproc = [int(x) / 1e9 for r in range(1, runs + 1) for x in open(f"{out}/evalproc_{r}").read().split()]
ours = {"train1": ours_train(1), "train2": ours_train(2), "eval": med(i["eval_images_per_second"] for i in inf),
        "evalproc": 10000 / med(evalproc),
        "lat": med(i["latency_us"] for i in inf), "rss": max(rss(1), rss(2)), "acc": acc}
th = None
if have_torch:
    T = [json.load(open(f"{out}/torch_{r}.json")) for r in range(1, runs + 1)]
    th = {"train1": med(t["train_seconds"]["1"] for t in T), "train2": med(t["train_seconds"]["2"] for t in T),
          "eval": med(t["eval_images_per_second"] for t in T), "lat": med(t["latency_us"] for t in T),
          "rss": med(t["peak_rss_mb"] for t in T), "acc": T[0]["test_accuracy"], "ver": T[0]["torch_version"]}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
isa = "avx512f" if " avx512f" in flags else "avx2" if " avx2" in flags else "sse2"
gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
rows = [
    ("training epoch, batch 32, 1 thread (s)", "train1", "{:.2f}", True),
    ("training epoch, batch 32, 2 threads (s)", "train2", "{:.2f}", True),
    ("evaluation, 10,000 test images (images/s)", "eval", "{:,.0f}", False),
    ("`lenet eval` whole process, 10,000 images, default options (images/s)", "evalproc", "{:,.0f}", None),
    ("single-image latency (us)", "lat", "{:.1f}", True),
    ("peak RSS during training (MB)", "rss", "{:.0f}", True),
    ("test accuracy after 1 epoch", "acc", "{:.4f}", None),
]
lines = [f"Machine: {os.cpu_count()} CPUs, {cpu}, {isa}; {platform.platform()}; {gcc}" +
         (f"; PyTorch {th['ver']}" if th else ""), f"Runs: {runs}, medians.", "",
         "| measure | ours | PyTorch | ours vs PyTorch |", "|---|---|---|---|"]
for name, k, fmt, lower_better in rows:
    o = fmt.format(ours[k]); p = fmt.format(th[k]) if th and k in th else "-"
    if th and lower_better is not None:
        ratio = th[k] / ours[k] if lower_better else ours[k] / th[k]
        rs = f"{ratio:.1f}x {'faster' if k in ('train1', 'train2', 'eval', 'lat') else 'less'}"
    else:
        rs = ""
    lines.append(f"| {name} | {o} | {p} | {rs} |")
per_run = []
for r, sec in enumerate(train_secs(2), 1):
    try:
        lat = open(f"{out}/lat_{r}").read().strip()
    except OSError:
        lat = "null"
    per_run.append(f"{sec:.2f} s ({lat} ns)" if lat != "null" else f"{sec:.2f} s")
lines += ["", "Our 2-thread epochs run by run, with the CPU 0 <-> CPU 1 cache-line round trip measured "
          "just before (bench/core_latency.c): " + ", ".join(per_run) + "."]
try:
    ex = json.load(open(f"{out}/exch.json"))
except ValueError:
    ex = None
if ex:
    step_us = ours["train2"] / 1875 * 1e6
    extra = 2 * (ex["remote_read_us"] - ex["local_read_us"]) + 2 * (ex["shared_write_us"] - ex["local_read_us"])
    lines += ["", f"Moving a step's data between the cores (bench/core_exchange.c, passes over "
              f"{ex['bytes'] / 1000:.0f} KB on CPU 1, best of 200): a read of its own data {ex['local_read_us']:.1f} us, "
              f"a read of what CPU 0 has just written {ex['remote_read_us']:.1f} us, a write over lines CPU 0 has just "
              f"read {ex['shared_write_us']:.1f} us. A 2-thread step at batch 32 makes two remote reads and two shared "
              f"writes of that size per thread (half the parameters, half the gradients): about {extra:.0f} us more "
              f"than local passes if fetched on demand, of a {step_us:.0f} us step (1 thread: "
              f"{ours['train1'] / 1875 * 1e6 / 2:.0f} us per group); the dense layers' share of them is prefetched "
              f"while the convolutions compute (src/net.c, plan_forward and plan_backward)."]
if th:
    best = min(th["train1"], th["train2"])
    lines += ["", f"PyTorch's best epoch: {best:.2f} s; ours with 2 threads: {ours['train2']:.2f} s "
              f"= 1/{best / ours['train2']:.1f} of it. Our 1 -> 2 threads speed-up: {ours['train1'] / ours['train2']:.2f}x."]
# The same speed-up run by run: each 2-thread epoch runs right after its
# 1-thread twin, so a pair shares the host's hour (its speed drifts 10-20%
# within one), which the ratio of the two medians does not.
pairs = [a / b for a, b in zip(train_secs(1), train_secs(2))]
lines += [f"The speed-up run by run (each 1-thread epoch over the 2-thread epoch run right after it): "
          + ", ".join(f"{x:.2f}x" for x in pairs) + f"; median {med(pairs):.2f}x."]
lines += ["", f"`lenet eval` as a whole process (start to exit: read and prepare the test set, load the "
          f"checkpoint, start threads, evaluate; default options): median of {len(evalproc)} runs "
          f"{med(evalproc) * 1000:.0f} ms, fastest {min(evalproc) * 1000:.0f} ms."]
lines += ["", f"Single-image latency: one prepared image to its logits on 1 thread, median of 2,000 calls, "
          f"through the one-image snapshot (include/lenet/single.h; what `lenet serve` runs for fewer than 12 "
          f"images): {ours['lat']:.1f} us; through `ln_lenet_forward` of one image, which reads the weights as "
          f"training keeps them: {med(i['latency_forward_us'] for i in inf):.1f} us. The same logits, bit for bit."]
# Efficiency against the measured FMA peak. FLOP per training sample from
# the profile's per-layer counts (forward + backward), times 60,000 samples.
peak = json.load(open(f"{out}/peak.json"))
profs = [next(json.loads(l) for l in open(f"{out}/prof_{r}.json") if '"profile"' in l) for r in range(1, runs + 1)]
flop_sample = sum(l["forward_flops"] + l["backward_flops"] for l in profs[0]["layers"])
epoch_gflop = flop_sample * 60000 / 1e9
p1, pn = peak["gflops_1"], peak["gflops_n"]
lay = re.search(r"best whole step ([0-9.]+) us/sample, median ([0-9.]+)", open(f"{out}/layers.txt").read())
lay_best, lay_med = float(lay.group(1)), float(lay.group(2))
lines += ["", f"FMA peak (bench/fma_peak.c, {peak['isa']}, 12 independent FMA chains, best of 60 trials): "
          f"{p1:.0f} GFLOP/s on 1 thread, {pn:.0f} on {peak['threads']}. CPU: {peak['cpu']}.",
          f"A training epoch is {epoch_gflop:.1f} GFLOP ({flop_sample / 1e6:.3f} MFLOP per sample, 60,000 samples): "
          f"1 thread {epoch_gflop / ours['train1']:.0f} GFLOP/s = {100 * epoch_gflop / ours['train1'] / p1:.0f}% of "
          f"the 1-thread peak; 2 threads {epoch_gflop / ours['train2']:.0f} GFLOP/s = "
          f"{100 * epoch_gflop / ours['train2'] / pn:.0f}% of the {peak['threads']}-thread peak.", "",
          f"Short trials on 1 thread (~0.3 ms, a step's length, 400 of each, alternating; bench/fma_peak.c): "
          f"the FMA loop best {peak['short_fma_best']:.0f}, median {peak['short_fma_median']:.0f} GFLOP/s; "
          f"a convolution-shaped loop (20 chains, each FMA with a broadcast weight and a vector from L1) best "
          f"{peak['short_conv_best']:.0f}, median {peak['short_conv_median']:.0f} GFLOP/s = "
          f"{100 * peak['short_conv_best'] / peak['short_fma_best']:.0f}% / "
          f"{100 * peak['short_conv_median'] / peak['short_fma_best']:.0f}% of the FMA loop's best. "
          f"On a core of its own the convolution-shaped loop runs as fast as the FMA loop; far below it, "
          f"something outside this process shares the core (on a virtual machine, the host's other "
          f"tenants) and slows every kernel that loads from memory, ours too. Our 1-thread epoch against "
          f"that loop's median: {100 * epoch_gflop / ours['train1'] / peak['short_conv_median']:.0f}%.",
          f"Our kernels alone (`bench_layers`, a group of 16 on 1 thread, data hot in cache, 3,000 steps): "
          f"best step {lay_best:.1f} us per sample = {100 * flop_sample / lay_best / 1e3 / p1:.0f}% of the "
          f"1-thread peak, median {lay_med:.1f} us = {100 * flop_sample / lay_med / 1e3 / p1:.0f}%.", "",
          "Per layer (`lenet train --threads 1 --profile`, medians of the runs; thread time per training sample, "
          "forward includes the evaluation's samples):", "",
          "| layer | fwd us | fwd GFLOP/s | fwd % of peak | bwd us | bwd GFLOP/s | bwd % of peak |",
          "|---|---|---|---|---|---|---|"]
for i, lay in enumerate(profs[0]["layers"]):
    fs = med(p["layers"][i]["forward_seconds"] / p["samples_forward"] for p in profs)
    bs = med(p["layers"][i]["backward_seconds"] / p["samples_backward"] for p in profs)
    def cell(fl, sec):
        return ("-", "-") if not fl else (f"{fl / sec / 1e9:.0f}", f"{100 * fl / sec / 1e9 / p1:.0f}%")
    fg, fp = cell(lay["forward_flops"], fs)
    bg, bp = cell(lay["backward_flops"], bs)
    lines.append(f"| {lay['name']} | {fs * 1e6:.2f} | {fg} | {fp} | {bs * 1e6:.2f} | {bg} | {bp} |")
o2 = {t: med(train_secs(t, "o2")) for t in (1, 2)}
o2k = re.search(r"bf16 products (\S+)", open(f"{out}/o2_2_1.err").read())
o2acc = next(json.loads(l) for l in open(f"{out}/o2_2_1.json") if '"epoch"' in l)["test_accuracy"]
lines += ["", f"Mixed precision (`lenet train --amp-level O2`, the same epoch; bf16 kernels "
          f"{o2k.group(1) if o2k else '?'}): 1 thread {o2[1]:.2f} s = {o2[1] / ours['train1']:.2f}x the float32 "
          f"epoch, 2 threads {o2[2]:.2f} s = {o2[2] / ours['train2']:.2f}x; test accuracy after 1 epoch {o2acc:.4f}. "
          "Run by run, 2 threads: " + ", ".join(f"{x:.2f} s" for x in train_secs(2, "o2")) + "."]
if have_mpi:
    ep, red, byt, acc2 = [], [], [], None
    for r in range(1, runs + 1):
        e = next(json.loads(l) for l in open(f"{out}/mpi_{r}.json") if '"epoch"' in l)
        ep.append(e["train_seconds"]); acc2 = acc2 if acc2 is not None else e["test_accuracy"]
        m = re.search(r"all-reduce \(rank-order sum\): ([0-9.]+) ms per step, ([0-9.]+)% of the training time, "
                      r"([0-9]+) bytes per step", open(f"{out}/mpi_{r}.err").read())
        red.append(float(m.group(1))); byt = int(m.group(3))
    t2 = ours["train2"]
    lines += ["", "Data parallel on Open MPI (`mpirun -np 2 --bind-to core lenet train --threads 1`, global batch 64, "
              "937 steps):", "",
              "| measure | 2 ranks x 1 thread | 1 process x 2 threads |", "|---|---|---|",
              f"| training epoch (s) | {med(ep):.2f} | {t2:.2f} |",
              f"| speed vs 1 process x 2 threads | {t2 / med(ep):.2f}x | 1 |",
              f"| gradient all-reduce per step (ms) | {med(red):.3f} | - |",
              f"| bytes reduced per step (gradient) | {byt:,} | - |",
              f"| test accuracy after 1 epoch | {acc2:.4f} | {ours['acc']:.4f} |",
              "", "2-rank epochs run by run: " + ", ".join(f"{x:.2f} s" for x in ep) +
              "; all-reduce ms per step: " + ", ".join(f"{x:.3f}" for x in red) + "."]
text = "\n".join(lines)
print(text)
open("bench/results.md", "w").write("# `make bench` results\n\nWritten by bench/run.sh.\n\n" + text + "\n")
PYEOF
