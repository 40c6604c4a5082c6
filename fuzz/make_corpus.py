#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (fuzz/corpus/<target>/): small,
valid files of every kind each reader accepts, so the fuzzer starts from inside
the formats. Standard library only; deterministic output. Run from the repo:
    python3 fuzz/make_corpus.py
"""
import gzip
import json
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


# ---- IDX ----
def idx_images(count, rows, cols):
    px = bytes((i * 37 + i // 7) & 0xFF for i in range(count * rows * cols))
    return struct.pack(">IIII", 2051, count, rows, cols) + px


def idx_labels(count):
    return struct.pack(">II", 2049, count) + bytes(i % 10 for i in range(count))


# ---- PNG ----
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(width, height, color, depth, rows, plte=None, trns=None, interlace=0):
    """rows: list of packed scanline bytes (without filter bytes), or for
    interlace=1 the full-image rows of samples as lists (packed per pass)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if plte is not None:
        out += chunk(b"PLTE", plte)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    out += chunk(b"tEXt", b"Comment\x00seed") + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return out


def pack(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per):
        b = 0
        for j in range(per):
            s = samples[i + j] if i + j < len(samples) else 0
            b |= s << (8 - depth * (j + 1))
        out.append(b)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def adam7_rows(grid, depth):
    """Scanlines of the 7 passes, in order (grid: rows of samples, 1 channel)."""
    h, w = len(grid), len(grid[0])
    rows = []
    for x0, y0, dx, dy in ADAM7:
        for y in range(y0, h, dy):
            line = [grid[y][x] for x in range(x0, w, dx)]
            if line:
                rows.append(pack(line, depth))
    return rows


def main():
    put("fuzz_idx", "images-3x4x5", idx_images(3, 4, 5))
    put("fuzz_idx", "labels-7", idx_labels(7))
    put("fuzz_idx", "images-2x3x3.gz", gz(idx_images(2, 3, 3)))
    put("fuzz_idx", "labels-5.gz", gz(idx_labels(5)))
    put("fuzz_idx", "images-1x1x1", idx_images(1, 1, 1))

    W, H = 7, 5
    gray = [[(x * 40 + y * 25) % 256 for x in range(W)] for y in range(H)]
    put("fuzz_image", "gray8.png", png(W, H, 0, 8, [pack(r, 8) for r in gray]))
    put("fuzz_image", "gray1.png", png(W, H, 0, 1, [pack([v >> 7 for v in r], 1) for r in gray]))
    put("fuzz_image", "gray4.png", png(W, H, 0, 4, [pack([v >> 4 for v in r], 4) for r in gray]))
    put("fuzz_image", "gray16.png", png(W, H, 0, 16, [pack([v * 257 for v in r], 16) for r in gray]))
    put("fuzz_image", "gray8-trns.png", png(W, H, 0, 8, [pack(r, 8) for r in gray], trns=struct.pack(">H", 0)))
    put("fuzz_image", "rgb8.png", png(W, H, 2, 8, [bytes(c for v in r for c in (v, 255 - v, v // 2)) for r in gray]))
    put("fuzz_image", "rgba8.png", png(W, H, 6, 8, [bytes(c for v in r for c in (v, 0, 255 - v, v)) for r in gray]))
    put("fuzz_image", "ga16.png", png(W, H, 4, 16, [pack([s for v in r for s in (v * 257, 65535 - v)], 16) for r in gray]))
    plte = bytes(c for i in range(4) for c in (i * 80, 255 - i * 60, i * 20))
    put("fuzz_image", "palette2.png",
        png(W, H, 3, 2, [pack([v >> 6 for v in r], 2) for r in gray], plte=plte, trns=b"\x00\x80"))
    put("fuzz_image", "gray8-adam7.png", png(W, H, 0, 8, adam7_rows(gray, 8), interlace=1))

    hdr = "P5\n# seed\n%d %d\n255\n" % (W, H)
    put("fuzz_image", "p5.pgm", hdr.encode() + bytes(v for r in gray for v in r))
    put("fuzz_image", "p5-16.pgm", ("P5 %d %d 1000\n" % (W, H)).encode() +
        b"".join(struct.pack(">H", v * 1000 // 255) for r in gray for v in r))
    put("fuzz_image", "p2.pgm", ("P2\n%d %d\n# comment\n15\n" % (W, H) +
                                 "\n".join(" ".join(str(v >> 4) for v in r) for r in gray) + "\n").encode())

    # fuzz_serve: first byte J (even) = a :predict JSON body, I (odd) = a picture.
    digit = [[255 if 3 <= x <= 8 and 2 <= y <= 9 and (x in (3, 8) or y in (2, 9)) else 0 for x in range(12)]
             for y in range(12)]
    flat = [v for r in digit for v in r] + [0] * (784 - 144)
    rows = [flat[i * 28:(i + 1) * 28] for i in range(28)]
    put("fuzz_serve", "flat.json", b"J" + json.dumps({"instances": [flat]}).encode())
    put("fuzz_serve", "nested2.json", b"J" + json.dumps({"instances": [rows, [[0] * 28] * 28],
                                                          "signature_name": "serving_default"}).encode())
    put("fuzz_serve", "reals.json", b"J" + json.dumps({"instances": [[float(v) for v in flat]]}).encode())
    put("fuzz_serve", "bad-level.json", b"J" + json.dumps({"instances": [[256] + flat[1:]]}).encode())
    put("fuzz_serve", "bad-row.json", b"J" + json.dumps({"instances": [rows[:27] + [[0] * 27]]}).encode())
    put("fuzz_serve", "digit.png", b"I" + png(12, 12, 0, 8, [bytes(r) for r in digit]))
    put("fuzz_serve", "digit-inverted.pgm", b"I" + b"P5\n12 12\n255\n" + bytes(255 - v for r in digit for v in r))
    put("fuzz_serve", "digit-p2.pgm", b"I" + ("P2\n12 12\n255\n" + "\n".join(" ".join(map(str, r)) for r in digit) +
                                               "\n").encode())


if __name__ == "__main__":
    main()
