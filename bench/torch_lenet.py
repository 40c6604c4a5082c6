#!/usr/bin/python3
"""PyTorch side of `make bench`: the tutorial's recipe, timed like ours.

Same recipe as `lenet train`: MNIST resized 28->32 with OpenCV INTER_LINEAR
(bit-identical to ours), Rescale(1/255) then Normalize(0.1307, 0.3081),
LeNet-5 with conv bias (PyTorch's default conv init = HeUniform, fc weights
Normal(0, 0.02), fc biases 0), softmax cross-entropy (mean), SGD lr 0.01
momentum 0.9, batch 32, shuffled, last partial batch dropped.

Given every advantage we give ourselves: the whole data set is preprocessed
into tensors before timing, each epoch gathers the shuffled set once and
feeds contiguous slices (no DataLoader), and the timed region is the training
loop only. PyTorch's Linear layers use the system BLAS: install
libopenblas0-pthread, or Debian's reference BLAS makes them several times
slower.

Usage: torch_lenet.py MNIST_DIR [--threads 1,2] [--epochs 1]
Prints one JSON object: train_seconds per thread count, eval_images_per_second
(10,000 test images, batches of 1000, all threads), latency_us (one image,
median of 2000 calls, 1 thread), test_accuracy, peak_rss_mb.
"""
import argparse
import gzip
import json
import os
import resource
import struct
import time

import cv2
import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic == 2051:
        n, r, c = struct.unpack(">III", data[4:16])
        return np.frombuffer(data, np.uint8, n * r * c, 16).reshape(n, r, c)
    n = struct.unpack(">I", data[4:8])[0]
    return np.frombuffer(data, np.uint8, n, 8)


def find(root, split, kind):
    prefix = "train" if split == "train" else "t10k"
    ndim = 3 if kind == "images" else 1
    for d in (os.path.join(root, split), root):
        for sep in ("-", "."):
            for ext in ("", ".gz"):
                p = os.path.join(d, f"{prefix}-{kind}{sep}idx{ndim}-ubyte{ext}")
                if os.path.exists(p):
                    return p
    raise SystemExit(f"torch_lenet: no {prefix} {kind} file under {root}")


def load(root, split):
    imgs = read_idx(find(root, split, "images"))
    labels = read_idx(find(root, split, "labels")).astype(np.int64)
    r1, s2 = np.float32(1 / 255), np.float32(1 / 0.3081)
    b2 = np.float32(-0.1307 / 0.3081)
    out = np.empty((len(imgs), 1, 32, 32), np.float32)
    for i, im in enumerate(imgs):
        z = cv2.resize(im, (32, 32), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        out[i, 0] = (z * r1) * s2 + b2
    return torch.from_numpy(out), torch.from_numpy(labels)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        for fc in (self.fc1, self.fc2, self.fc3):
            nn.init.normal_(fc.weight, 0.0, 0.02)
            nn.init.zeros_(fc.bias)
        self.pool = nn.MaxPool2d(2, 2)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


def train_epoch(net, opt, loss_fn, x, y, gen):
    # One gather per epoch, then contiguous slices: the cheapest way to feed
    # shuffled batches (indexing each batch separately costs ~1.7 ms a step).
    t0 = time.perf_counter()
    perm = torch.randperm(len(x), generator=gen)
    xs, ys = x[perm], y[perm]
    for s in range(len(x) // 32):
        opt.zero_grad()
        loss = loss_fn(net(xs[s * 32:(s + 1) * 32]), ys[s * 32:(s + 1) * 32])
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "test")
    res = {"torch_version": torch.__version__, "train_seconds": {}}
    loss_fn = nn.CrossEntropyLoss()
    acc = None
    for t in [int(v) for v in a.threads.split(",")]:
        torch.set_num_threads(t)
        torch.manual_seed(a.seed)
        net = LeNet5()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        gen = torch.Generator().manual_seed(a.seed)
        secs = [train_epoch(net, opt, loss_fn, xtr, ytr, gen) for _ in range(a.epochs)]
        res["train_seconds"][str(t)] = sum(secs) / len(secs)
        if acc is None:
            with torch.no_grad():
                pred = torch.cat([net(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
            acc = float((pred == yte).float().mean())
            trained = net
    res["test_accuracy"] = acc
    net = trained
    torch.set_num_threads(max(int(v) for v in a.threads.split(",")))
    with torch.no_grad():
        for i in range(0, len(xte), 1000):
            net(xte[i:i + 1000])  # warm-up
        t0 = time.perf_counter()
        for i in range(0, len(xte), 1000):
            net(xte[i:i + 1000])
        res["eval_images_per_second"] = len(xte) / (time.perf_counter() - t0)
        torch.set_num_threads(1)
        one = xte[:1]
        for _ in range(200):
            net(one)
        lat = []
        for i in range(2000):
            t0 = time.perf_counter()
            net(xte[i % len(xte):i % len(xte) + 1])
            lat.append(time.perf_counter() - t0)
        res["latency_us"] = float(np.median(lat) * 1e6)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


if __name__ == "__main__":
    main()
