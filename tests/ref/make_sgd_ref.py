#!/usr/bin/python3
"""Generate the torch.optim.SGD reference used by tests/test_sgd_ref.c.

What it writes
--------------
tests/data/sgd_ref.bin: LeNet-5 (conv bias on) trained for 20 steps on one
fixed batch with torch.optim.SGD(lr=0.01, momentum=0.9, weight_decay=5e-4),
once with nesterov=False and once with nesterov=True, from the same float32
initial parameters. The training runs in float64, so the reference is exact
up to float64 rounding for the float32 starting point.

PyTorch's SGD step is, per parameter p with gradient g:
    g = g + weight_decay * p
    v = momentum * v + g          (v = g on the first step; dampening 0)
    nesterov: g = g + momentum * v, else g = v
    p = p - lr * g
which is nn.Momentum's rule with loss_scale 1 (MindSpore: g += wd*ls*w;
g /= ls; v = mu*v + g; w -= lr*v or w -= lr*(g + mu*v)).

Records (same container as make_golden.py: magic "LNGOLD01", u32 count, then
u32 name_len, name, u32 ndim, u32 dims[ndim], f64 values, little-endian):
    input (32,1,32,32); labels (32,) as float64;
    param.<p> for the 10 parameters (initial values);
    plain.losses (20,), plain.final.<p>       -- nesterov=False
    nesterov.losses (20,), nesterov.final.<p> -- nesterov=True
losses[t] is the loss at step t's forward pass, before its update.

Regenerate (from the repository root; needs python3-torch and python3-numpy;
the output is deterministic):
    /usr/bin/python3 tests/ref/make_sgd_ref.py tests/data/sgd_ref.bin
Check a file:
    /usr/bin/python3 tests/ref/make_golden.py --verify tests/data/sgd_ref.bin
"""

import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from make_golden import PARAM_NAMES, fixed_start, sgd_run, write_file  # noqa: E402

SEED = 4242
BATCH = 32
STEPS = 20
LR = 0.01
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4


def generate(path):
    init_state, x, labels, records, add = fixed_start(SEED, BATCH)
    for tag, nesterov in (("plain", False), ("nesterov", True)):
        losses, params = sgd_run(init_state, x, labels, STEPS, lr=LR, momentum=MOMENTUM,
                                 weight_decay=WEIGHT_DECAY, nesterov=nesterov)
        add(tag + ".losses", torch.tensor(losses, dtype=torch.float64))
        for p in PARAM_NAMES:
            add(tag + ".final." + p, params[p])
        print("%s: losses %s" % (tag, ", ".join("%.6f" % v for v in losses)))

    write_file(path, records)
    print("wrote %s: %d records" % (path, len(records)))


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.stderr.write("usage: %s OUT.bin\n" % sys.argv[0])
        sys.exit(2)
    generate(sys.argv[1])
