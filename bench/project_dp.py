#!/usr/bin/env python3
"""bench/project_dp.py - projected epoch time of data-parallel training on
N nodes (one `lenet train --threads 1` rank each) from a measured compute
time per step, with the ring all-reduce cost model:

    step(N)  = compute + 2 (N-1)/N * S / bandwidth + 2 (N-1) * latency
    epoch(N) = floor(ceil(60000 / N) / batch) * step(N)

S = the gradient (61,706 float32 = 246,824 bytes). Our all-reduce
(src/dist_mpi.c: alltoall, rank-order sum, allgather) moves the same bytes
per rank as a ring and sends N-1 messages in each of its two phases.
    python3 bench/project_dp.py COMPUTE_MS_PER_STEP [BATCH]
"""
import sys

S = 61706 * 4
LINKS = [("10 Gbit/s Ethernet (TCP, 20 us per message)", 10e9 / 8, 20e-6),
         ("100 Gbit/s InfiniBand/RoCE (RDMA, 3 us per message)", 100e9 / 8, 3e-6)]
compute = float(sys.argv[1]) / 1e3
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 32
nodes = [1, 2, 4, 8, 16, 32, 64]
print("| nodes | global batch | steps/epoch | " + " | ".join(f"{n} epoch (s) / all-reduce share" for n, _, _ in LINKS) + " |")
print("|---|---|---|" + "---|" * len(LINKS))
for n in nodes:
    steps = ((60000 + n - 1) // n) // batch
    cells = []
    for _, bw, lat in LINKS:
        ar = 2 * (n - 1) / n * S / bw + 2 * (n - 1) * lat
        cells.append(f"{steps * (compute + ar):.3f} / {100 * ar / (compute + ar):.0f}%")
    print(f"| {n} | {n * batch} | {steps} | " + " | ".join(cells) + " |")
