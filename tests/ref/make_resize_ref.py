#!/usr/bin/python3
"""Reference data for the C port of cv2.resize(img, (32, 32), INTER_LINEAR).

Generated with OpenCV 4.6.0 (Debian python3-opencv, SSE2 baseline build,
no IPP, no custom HAL) and numpy 1.24.2.

Usage:
    /usr/bin/python3 tests/ref/make_resize_ref.py tests/data/resize_ref.bin
        write the reference file (format below)
    /usr/bin/python3 tests/ref/make_resize_ref.py --check
        compare the two integer models of the resize against cv2 on all
        70,000 MNIST images plus 10,000 random images and print mismatches

Reference file layout (all little-endian):
    8 bytes   magic "LNRSZ001"
    u32       item count N
    N items   784 bytes input (28x28 row-major uint8)
              followed by 1024 bytes cv2 output (32x32 row-major uint8)
Items, in order: t10k-images[0:100], 100 random images
(np.random.default_rng(7).integers(0, 256, (100, 28, 28), dtype=uint8)),
then all-zero, all-255, a 0/255 checkerboard ((row+col) odd -> 255) and a
horizontal ramp (value = 9*col).

Integer model of OpenCV's INTER_LINEAR for 8-bit images (resizeGeneric_ with
HResizeLinear + VResizeLinear, 11-bit weights, INTER_RESIZE_COEF_BITS = 11):

  Per axis (28 -> 32, scale 0.875), for output index d:
      f = (d + 0.5) * 0.875 - 0.5,  i = floor(f),  a = f - i   (a in 1/16ths)
      w0 = round((1 - a) * 2048),   w1 = round(a * 2048)
  x axis: if i < 0  -> i = 0,  a = 0   (single tap, weight 2048)
          if i >= 27 -> i = 27, a = 0
  y axis: a is NOT clamped; the two source rows i and i+1 are clamped to
          [0, 27] (so output row 0 blends row 0 with itself, 128 + 1920).

  Horizontal pass (exact, fits int32):
      H[y][dx] = w0x * p[y][ix] + w1x * p[y][ix + 1]          (0..522240)
  Vertical pass, two candidate roundings:
      scalar : out = sat_u8((H0*b0 + H1*b1 + (1 << 21)) >> 22)
      simd   : out = sat_u8((((H0 >> 4) * b0 >> 16)
                             + ((H1 >> 4) * b1 >> 16) + 2) >> 2)
  where H0/H1 are the horizontal results of the two source rows and b0/b1
  the y weights.  `--check` shows which one this OpenCV build uses: on
  OpenCV 4.6.0 here the simd form matches cv2 on every pixel of all 80,004
  test images and the scalar form does not (see tests/ref/README.md).
  Equivalent form in 1/16 units ("simd16", all weights are multiples of 128):
      H'[y][dx] = (w0x/128) * p[y][ix] + (w1x/128) * p[y][ix+1]
      out = (((H'0 * (b0/128)) >> 6) + ((H'1 * (b1/128)) >> 6) + 2) >> 2
"""

import gzip
import os
import struct
import sys

import cv2
import numpy as np

SRC = 28          # input side
DST = 32          # output side
COEF_BITS = 11    # OpenCV INTER_RESIZE_COEF_BITS
COEF_ONE = 1 << COEF_BITS

MNIST_DIR = "/work/shared/data/mnist"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")
MAGIC = b"LNRSZ001"
RNG_SEED = 7


# --------------------------------------------------------------------------
# Data loading
# --------------------------------------------------------------------------

def load_idx_images(path):
    """Read a gzipped IDX3 image file into an (N, rows, cols) uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    magic, count, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 2051:
        raise ValueError(f"{path}: bad IDX magic {magic}")
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16)
    if pixels.size != count * rows * cols:
        raise ValueError(f"{path}: truncated pixel data")
    return pixels.reshape(count, rows, cols)


def random_images(count):
    """`count` uniform random 28x28 uint8 images from rng seed 7."""
    rng = np.random.default_rng(RNG_SEED)
    return rng.integers(0, 256, size=(count, SRC, SRC), dtype=np.uint8)


def special_images():
    """All-zero, all-255, 0/255 checkerboard, horizontal ramp 9*col."""
    rows, cols = np.indices((SRC, SRC))
    zeros = np.zeros((SRC, SRC), np.uint8)
    full = np.full((SRC, SRC), 255, np.uint8)
    checker = (((rows + cols) & 1) * 255).astype(np.uint8)
    ramp = (9 * cols).astype(np.uint8)          # 0 .. 243
    return np.stack([zeros, full, checker, ramp])


def cv2_resize_all(images):
    """cv2.resize every image to 32x32 with INTER_LINEAR."""
    out = np.empty((len(images), DST, DST), np.uint8)
    for k, img in enumerate(images):
        out[k] = cv2.resize(img, (DST, DST), interpolation=cv2.INTER_LINEAR)
    return out


# --------------------------------------------------------------------------
# Integer model of the resize
# --------------------------------------------------------------------------

def axis_taps(clamp_fraction):
    """Source indices and 11-bit weights for each of the 32 output positions.

    Returns int64 arrays (i0, i1, w0, w1); output d reads source positions
    i0[d] and i1[d] with weights w0[d] + w1[d] == 2048.
    clamp_fraction=True is the x-axis rule (border outputs become a single
    tap with a = 0); False is the y-axis rule (a kept, indices clamped).
    """
    scale = SRC / DST
    i0 = np.empty(DST, np.int64)
    i1 = np.empty(DST, np.int64)
    w0 = np.empty(DST, np.int64)
    w1 = np.empty(DST, np.int64)
    for d in range(DST):
        f = (d + 0.5) * scale - 0.5     # exact in binary: multiple of 1/16
        i = int(np.floor(f))
        a = f - i
        if clamp_fraction:
            if i < 0:
                i, a = 0, 0.0
            elif i >= SRC - 1:
                i, a = SRC - 1, 0.0
        w1[d] = int(round(a * COEF_ONE))
        w0[d] = COEF_ONE - w1[d]        # a is exact, so this equals round((1-a)*2048)
        i0[d] = min(max(i, 0), SRC - 1)
        i1[d] = min(max(i + 1, 0), SRC - 1)
    return i0, i1, w0, w1


X_TAPS = axis_taps(clamp_fraction=True)
Y_TAPS = axis_taps(clamp_fraction=False)


def horizontal_pass(images):
    """(N,28,28) uint8 -> (N,28,32) int64: exact 11-bit horizontal blend."""
    i0, i1, w0, w1 = X_TAPS
    p = images.astype(np.int64)
    return p[:, :, i0] * w0 + p[:, :, i1] * w1


def model_resize(images, variant):
    """Integer model of the resize; variant is 'scalar' or 'simd'."""
    h = horizontal_pass(images)
    i0, i1, b0, b1 = Y_TAPS
    h0 = h[:, i0, :]                     # (N,32,32): upper source row
    h1 = h[:, i1, :]                     # lower source row
    b0 = b0[None, :, None]
    b1 = b1[None, :, None]
    if variant == "scalar":
        # FixedPtCast<int, uchar, 22>: one exact sum, round-half-up, >> 22.
        out = (h0 * b0 + h1 * b1 + (1 << 21)) >> 22
    elif variant == "simd":
        # VResizeLinearVec_32s8u: each row >> 4 to int16, 16x16 high multiply
        # (>> 16, floor) per row, add, then rounding shift (x + 2) >> 2.
        out = (((h0 >> 4) * b0 >> 16) + ((h1 >> 4) * b1 >> 16) + 2) >> 2
    elif variant == "simd16":
        # The same arithmetic in 1/16 units.  Every weight is a multiple of
        # 128, so H = 128*H' exactly (H' = sum of p * w/128, w/128 in 1..16)
        # and (H >> 4) * b >> 16 == (8*H' * 128*b') >> 16 == (H' * b') >> 6.
        # This is the form the C code uses (products fit easily in int32).
        hs0, hs1 = h0 // 128, h1 // 128
        out = ((hs0 * (b0 // 128) >> 6) + (hs1 * (b1 // 128) >> 6) + 2) >> 2
    else:
        raise ValueError(variant)
    return np.clip(out, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------
# Modes
# --------------------------------------------------------------------------

def print_taps():
    for name, taps in (("x", X_TAPS), ("y", Y_TAPS)):
        i0, i1, w0, w1 = taps
        print(f"{name} taps (d: i0 i1 w0 w1):")
        for d in range(DST):
            print(f"  {d:2d}: {i0[d]:2d} {i1[d]:2d} {w0[d]:4d} {w1[d]:4d}")


def check():
    """Compare both integer models with cv2 on MNIST + random images."""
    sets = [(name, load_idx_images(os.path.join(MNIST_DIR, name)))
            for name in MNIST_FILES]
    sets.append(("random(seed 7)", random_images(10000)))
    sets.append(("special", special_images()))
    totals = {"scalar": [0, 0], "simd": [0, 0], "simd16": [0, 0]}
    n_images = 0
    for name, images in sets:
        ref = cv2_resize_all(images)
        n_images += len(images)
        for variant in totals:
            diff = model_resize(images, variant) != ref
            bad_img = int(diff.any(axis=(1, 2)).sum())
            bad_px = int(diff.sum())
            totals[variant][0] += bad_img
            totals[variant][1] += bad_px
            print(f"{name:28s} {variant:6s}: {bad_img:6d}/{len(images)} images,"
                  f" {bad_px:8d}/{diff.size} pixels differ")
    print(f"TOTAL over {n_images} images:")
    for variant, (bad_img, bad_px) in totals.items():
        print(f"  {variant:6s}: {bad_img} images, {bad_px} pixels differ")
    return totals


def write_reference(path):
    t10k = load_idx_images(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz"))
    items = np.concatenate([t10k[:100], random_images(100), special_images()])
    outputs = cv2_resize_all(items)
    with open(path, "wb") as fh:
        fh.write(MAGIC)
        fh.write(struct.pack("<I", len(items)))
        for img, out in zip(items, outputs):
            fh.write(np.ascontiguousarray(img).tobytes())
            fh.write(np.ascontiguousarray(out).tobytes())
    print(f"wrote {len(items)} items to {path} "
          f"({8 + 4 + len(items) * (SRC * SRC + DST * DST)} bytes)")


def main(argv):
    print(f"OpenCV {cv2.__version__}, numpy {np.__version__}")
    if len(argv) == 2 and argv[1] == "--check":
        check()
    elif len(argv) == 2 and argv[1] == "--taps":
        print_taps()
    elif len(argv) == 2 and not argv[1].startswith("-"):
        write_reference(argv[1])
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
