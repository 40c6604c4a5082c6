#!/usr/bin/python3
"""Generate the golden LeNet-5 reference file used by the C tests.

What it writes
--------------
A single binary file (committed as tests/data/golden_lenet.bin) holding, for a
fixed seed, the LeNet-5 initial parameters, a fixed input batch, the forward
activations, the logits, the mean softmax cross-entropy loss, the gradient of
that loss with respect to every parameter, and the result of 10 SGD steps
(lr=0.01, momentum=0.9) on the same batch.

Parameters and inputs are drawn in float32; every computation is then done in
float64, so the reference values are exact up to float64 rounding for the
float32-representable starting point.

Network (input N x 1 x 32 x 32):
    conv1 Conv2d(1,6,5) -> ReLU -> MaxPool(2,2)
    conv2 Conv2d(6,16,5) -> ReLU -> MaxPool(2,2)
    flatten (C,H,W order, 400)
    fc1 Linear(400,120) -> ReLU -> fc2 Linear(120,84) -> ReLU -> fc3 Linear(84,10)

SGD uses PyTorch's momentum rule (no dampening, no weight decay):
    v <- 0.9 * v + g   (v starts at 0, so v = g on the first step)
    p <- p - 0.01 * v

File format (all little-endian)
-------------------------------
    8 bytes   magic, ASCII "LNGOLD01"
    u32       record count
    records, each:
        u32        name_len
        name_len   name bytes (ASCII, no NUL terminator)
        u32        ndim
        u32[ndim]  dims
        f64[prod(dims)] values, C (row-major) order

Records, in this order:
    input (32,1,32,32); labels (32,) stored as float64;
    param.<p> for the 10 parameters (see PARAM_NAMES);
    act.conv1 (pre-ReLU), act.pool1, act.conv2 (pre-ReLU), act.pool2,
    act.fc1 (pre-ReLU), act.fc2 (pre-ReLU);
    logits (32,10); loss (1,);
    grad.<p> for the 10 parameters;
    sgd.losses (10,)  -- loss at the forward pass of step t, before its update;
    final.<p> for the 10 parameters after the 10 updates.

Regenerate (from the repository root):
    /usr/bin/python3 tests/ref/make_golden.py tests/data/golden_lenet.bin
Check a file:
    /usr/bin/python3 tests/ref/make_golden.py --verify tests/data/golden_lenet.bin
"""

import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC = b"LNGOLD01"
SEED = 20261128
BATCH = 32
SGD_STEPS = 10
LR = 0.01
MOMENTUM = 0.9

# Parameter order used everywhere in the file (matches the C side).
PARAM_NAMES = [
    "conv1.weight", "conv1.bias",
    "conv2.weight", "conv2.bias",
    "fc1.weight", "fc1.bias",
    "fc2.weight", "fc2.bias",
    "fc3.weight", "fc3.bias",
]


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, bias=True)    # 32x32 -> 28x28
        self.conv2 = nn.Conv2d(6, 16, 5, bias=True)   # 14x14 -> 10x10
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x, acts=None):
        """Return logits; if `acts` is a dict, store intermediate tensors in it."""
        def keep(name, t):
            if acts is not None:
                acts[name] = t.detach().clone()
            return t

        x = keep("conv1", self.conv1(x))
        x = keep("pool1", F.max_pool2d(F.relu(x), 2, 2))
        x = keep("conv2", self.conv2(x))
        x = keep("pool2", F.max_pool2d(F.relu(x), 2, 2))
        x = torch.flatten(x, 1)                      # (N, 16*5*5), C,H,W order
        x = keep("fc1", self.fc1(x))
        x = keep("fc2", self.fc2(F.relu(x)))
        return self.fc3(F.relu(x))


def build_model():
    """Create the float32 model with the prescribed initialisation."""
    model = LeNet5()  # conv layers keep PyTorch's default init
    with torch.no_grad():
        for fc in (model.fc1, model.fc2, model.fc3):
            nn.init.normal_(fc.weight, mean=0.0, std=0.02)
            nn.init.uniform_(fc.bias, -0.1, 0.1)
    return model


def new_records():
    """An empty record list and its add(name, tensor or array) (float64)."""
    records = []  # list of (name, float64 numpy array)

    def add(name, t):
        arr = t.detach().cpu().numpy() if torch.is_tensor(t) else np.asarray(t)
        records.append((name, np.ascontiguousarray(arr, dtype=np.float64)))

    return records, add


def fixed_start(seed, batch):
    """Seed torch, draw the float32 model (build_model) and one batch of
    random images and labels, in that order. Returns the initial state,
    the batch in float64, the labels, and the records holding input,
    labels and the initial parameters, with their add()."""
    torch.manual_seed(seed)
    model32 = build_model()
    x32 = torch.randn(batch, 1, 32, 32, dtype=torch.float32)
    labels = torch.randint(0, 10, (batch,))
    init_state = {k: v.clone() for k, v in model32.state_dict().items()}
    x = x32.double()
    records, add = new_records()
    add("input", x)
    add("labels", labels.double())
    for p in PARAM_NAMES:
        add("param." + p, init_state[p].double())
    return init_state, x, labels, records, add


def sgd_run(init_state, x, labels, steps, **sgd):
    """Train a float64 copy of the model from init_state on the one batch
    with torch.optim.SGD(**sgd); returns the loss at each step's forward
    pass (before its update) and the final named parameters."""
    model = build_model()
    model.load_state_dict(init_state)
    model = model.double()
    loss_fn = nn.CrossEntropyLoss()  # mean over the batch
    opt = torch.optim.SGD(model.parameters(), **sgd)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        step_loss = loss_fn(model(x), labels)
        losses.append(step_loss.item())
        step_loss.backward()
        opt.step()
    return losses, dict(model.named_parameters())


def generate(path):
    init_state, x, labels, records, add = fixed_start(SEED, BATCH)
    loss_fn = nn.CrossEntropyLoss()  # mean over the batch

    # --- single forward/backward pass in float64 ---------------------------
    model = build_model()
    model.load_state_dict(init_state)
    model = model.double()
    acts = {}
    logits = model(x, acts)
    loss = loss_fn(logits, labels)
    model.zero_grad()
    loss.backward()

    for a in ("conv1", "pool1", "conv2", "pool2", "fc1", "fc2"):
        add("act." + a, acts[a])
    add("logits", logits)
    add("loss", loss.reshape(1))
    params = dict(model.named_parameters())
    for p in PARAM_NAMES:
        add("grad." + p, params[p].grad)

    # --- 10 SGD steps from the same initial weights ------------------------
    losses, params = sgd_run(init_state, x, labels, SGD_STEPS, lr=LR, momentum=MOMENTUM)
    add("sgd.losses", torch.tensor(losses, dtype=torch.float64))
    for p in PARAM_NAMES:
        add("final." + p, params[p])

    write_file(path, records)
    print("wrote %s: %d records" % (path, len(records)))
    print("loss = %.17g" % loss.item())
    print("sgd.losses =", ", ".join("%.17g" % v for v in losses))


def write_file(path, records):
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<I", len(records)))
        for name, arr in records:
            raw = name.encode("ascii")
            f.write(struct.pack("<I", len(raw)))
            f.write(raw)
            f.write(struct.pack("<I", arr.ndim))
            f.write(struct.pack("<%dI" % arr.ndim, *arr.shape))
            f.write(arr.astype("<f8").tobytes(order="C"))


def verify(path):
    """Independent reader: uses only struct, no numpy/torch."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(data):
            raise ValueError("truncated file at offset %d" % pos)
        chunk = data[pos:pos + n]
        pos += n
        return chunk

    if take(8) != MAGIC:
        raise ValueError("bad magic")
    (count,) = struct.unpack("<I", take(4))
    print("%s: %d records, %d bytes" % (path, count, len(data)))
    for _ in range(count):
        (name_len,) = struct.unpack("<I", take(4))
        name = take(name_len).decode("ascii")
        (ndim,) = struct.unpack("<I", take(4))
        dims = struct.unpack("<%dI" % ndim, take(4 * ndim))
        n = 1
        for d in dims:
            n *= d
        values = struct.unpack("<%dd" % n, take(8 * n))
        head = ", ".join("%.10g" % v for v in values[:3])
        print("  %-20s %-16s %s" % (name, "x".join(map(str, dims)), head))
    if pos != len(data):
        raise ValueError("%d trailing bytes" % (len(data) - pos))
    print("OK")


def main(argv):
    if len(argv) == 3 and argv[1] == "--verify":
        verify(argv[2])
    elif len(argv) == 2 and not argv[1].startswith("-"):
        generate(argv[1])
    else:
        sys.stderr.write("usage: %s OUT.bin | --verify FILE\n" % argv[0])
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
