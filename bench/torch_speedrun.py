#!/usr/bin/python3
"""PyTorch side of `make speedrun`: the speedrun recipe (`lenet train --recipe
speedrun`) in PyTorch, timed as ours is, from process start to process end.

Same data and network as bench/torch_lenet.py (MNIST resized 28->32 with
OpenCV INTER_LINEAR, Rescale then Normalize, LeNet-5 with conv bias, softmax
cross-entropy); the recipe: batch 16, last partial batch dropped, SGD with
Nesterov momentum 0.9 (the same update as MindSpore's Momentum with
use_nesterov), 2 epochs, the rate following MindSpore's
cosine_decay_lr(0, 0.015, total, 1, total) per step, one evaluation at the
end. The caller times the whole process.

Usage: torch_speedrun.py MNIST_DIR [--seed 1] [--threads 2] [--flush-denormal]
(--flush-denormal: torch.set_flush_denormal(True), subnormals flushed to
zero as our engine computes; off by default, PyTorch's default.)
Prints one JSON object: seed, steps, samples, test_accuracy, train_seconds.
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch_lenet import LeNet5, load  # noqa: E402

BATCH, EPOCHS, LR, MOMENTUM = 16, 2, 0.015, 0.9


def cosine_rate(i, total, lr_max, lr_min=0.0):
    # nn.cosine_decay_lr(min_lr, max_lr, total_step, step_per_epoch=1, decay_epoch=total)
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * min(i, total) / total))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--flush-denormal", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.flush_denormal and not torch.set_flush_denormal(True):
        sys.exit("torch_speedrun.py: this CPU cannot flush denormals: --flush-denormal")
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "test")
    torch.manual_seed(a.seed)
    net = LeNet5()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(a.seed)
    per_epoch = len(xtr) // BATCH
    total = per_epoch * EPOCHS
    t0 = time.perf_counter()
    step = 0
    for _ in range(EPOCHS):
        perm = torch.randperm(len(xtr), generator=gen)
        xs, ys = xtr[perm], ytr[perm]
        for s in range(per_epoch):
            for g in opt.param_groups:
                g["lr"] = cosine_rate(step, total, LR)
            opt.zero_grad()
            loss = loss_fn(net(xs[s * BATCH:(s + 1) * BATCH]), ys[s * BATCH:(s + 1) * BATCH])
            loss.backward()
            opt.step()
            step += 1
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        pred = torch.cat([net(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
    acc = float((pred == yte).float().mean())
    print(json.dumps({"seed": a.seed, "steps": total, "samples": total * BATCH, "test_accuracy": acc,
                      "train_seconds": train_s}))


if __name__ == "__main__":
    main()
