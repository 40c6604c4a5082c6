#!/usr/bin/env python3
"""Write tests/data/malformed/: files every reader must reject with exit 2 and
a one-line message (tests/test_malformed.sh runs `lenet inspect` on each).

The file name says how the test uses it:
  images-*   an IDX images file (raw or .gz): the test pairs it with valid
             labels (5 items) as train-images-idx3-ubyte[.gz];
  labels-*   an IDX labels file, paired with valid images (5 of 20x24);
  *.png, *.pgm, *.ppm, image-*   an image given to `inspect --image`.
Deterministic (gzip mtime 0); standard library only. Run from the repo:
    python3 tests/ref/make_malformed.py
"""
import gzip
import os
import shutil
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "malformed")
N, ROWS, COLS = 5, 20, 24  # the partner files the test generates hold 5 items of 20x24
files = {}


def add(name, data):
    assert name not in files, name
    files[name] = data


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def images(count=N, rows=ROWS, cols=COLS, magic=2051, data=None):
    if data is None:
        data = bytes((i * 37 + i // 11) & 0xFF for i in range(count * rows * cols))
    return struct.pack(">IIII", magic, count, rows, cols) + data


def labels(count=N, magic=2049, data=None):
    if data is None:
        data = bytes(i % 10 for i in range(count))
    return struct.pack(">II", magic, count) + data


def chunk(kind, body, crc=None):
    c = zlib.crc32(kind + body) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", c)


SIG = b"\x89PNG\r\n\x1a\n"


def ihdr(w, h, depth=8, color=0, interlace=0, compression=0, filt=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, compression, filt, interlace))


def idat_for(w, h, bpp=1, filt=0):
    return chunk(b"IDAT", zlib.compress(b"".join(bytes([filt]) + bytes(w * bpp) for _ in range(h))))


def png(w=8, h=6):
    return SIG + ihdr(w, h) + idat_for(w, h) + chunk(b"IEND", b"")


def main():
    # ---------------- IDX images ----------------
    good = images()
    add("images-empty", b"")
    for cut, where in [(2, "inside-magic"), (4, "after-magic"), (6, "inside-count"), (8, "after-count"),
                       (10, "inside-rows"), (12, "after-rows"), (14, "inside-cols"), (16, "header-only")]:
        add("images-trunc-%02d-%s" % (cut, where), good[:cut])
    add("images-trunc-16-header-only.gz", gz(good[:16]))
    add("images-trunc-09-inside-rows.gz", gz(good[:9]))
    add("images-magic-2049", images(magic=2049))
    add("images-magic-zero", images(magic=0))
    add("images-magic-byteswapped", images(magic=0x03080000))
    add("images-magic-int32-type", images(magic=0x00000C03))
    add("images-magic-2dims", images(magic=0x00000802))
    add("images-count-zero", images(count=0, data=b""))
    add("images-rows-zero", images(rows=0, data=b"\x00" * 100))
    add("images-cols-zero", images(cols=0, data=b"\x00" * 100))
    add("images-count-huge", images(count=0xFFFFFFFF, data=b"\x00" * 100))
    add("images-rows-huge", images(rows=0xFFFFFFFF, data=b"\x00" * 100))
    add("images-cols-4097", images(cols=4097, data=b"\x00" * 100))
    add("images-product-huge", images(count=2000, rows=4096, cols=4096, data=b"\x00" * 100))
    add("images-count-plausible-file-tiny", images(count=20000000, rows=28, cols=28, data=b"\x00" * 100))
    add("images-count-plausible-file-tiny.gz", gz(images(count=20000000, rows=28, cols=28, data=b"\x00" * 5000)))
    add("images-data-one-short", good[:-1])
    add("images-data-one-extra", good + b"\x00")
    add("images-data-half", good[:16 + N * ROWS * COLS // 2])
    add("images-count-6-holds-5", images(count=6, data=good[16:]))
    gzgood = gz(good)
    add("images-gz-only-magic.gz", gzgood[:2])
    add("images-gz-header-only.gz", gzgood[:10])
    add("images-gz-truncated-half.gz", gzgood[:len(gzgood) // 2])
    add("images-gz-truncated-trailer.gz", gzgood[:-4])
    bad = bytearray(gzgood)
    bad[-8] ^= 0xFF  # CRC-32 of the data
    add("images-gz-bad-crc.gz", bytes(bad))
    bad = bytearray(gzgood)
    bad[-1] ^= 0x01  # ISIZE
    add("images-gz-bad-length.gz", bytes(bad))
    bad = bytearray(gzgood)
    for i in range(12, 20):
        bad[i] = 0xFF  # the deflate stream's first block header and codes
    add("images-gz-corrupt-deflate.gz", bytes(bad))
    bad = bytearray(gzgood)
    bad[2] = 9  # compression method other than deflate
    add("images-gz-bad-method.gz", bytes(bad))

    # ---------------- IDX labels ----------------
    good = labels()
    add("labels-empty", b"")
    for cut, where in [(2, "inside-magic"), (4, "after-magic"), (6, "inside-count"), (8, "header-only")]:
        add("labels-trunc-%02d-%s" % (cut, where), good[:cut])
    add("labels-magic-2051", labels(magic=2051))
    add("labels-magic-byteswapped", labels(magic=0x01080000))
    add("labels-count-zero", labels(count=0, data=b""))
    add("labels-count-huge", labels(count=0xFFFFFFFF, data=b"\x00" * 5))
    add("labels-value-10", labels(data=bytes([1, 2, 10, 3, 4])))
    add("labels-value-255", labels(data=bytes([1, 2, 3, 4, 255])))
    add("labels-data-one-short", good[:-1])
    add("labels-data-one-extra", good + b"\x01")
    add("labels-count-mismatch-6", labels(count=6))
    add("labels-count-mismatch-4", labels(count=4))
    add("labels-value-200.gz", gz(labels(data=bytes([200, 1, 2, 3, 4]))))
    add("labels-gz-truncated.gz", gz(good)[:-6])

    # ---------------- PNG ----------------
    good = png()
    idat_start = len(SIG) + 25
    add("png-signature-only.png", SIG)
    add("png-trunc-in-ihdr.png", good[:len(SIG) + 12])
    add("png-trunc-after-ihdr.png", good[:idat_start])
    add("png-trunc-in-idat.png", good[:idat_start + 12])
    add("png-no-iend.png", good[:-12])
    bad = bytearray(good)
    bad[idat_start - 1] ^= 0xFF
    add("png-bad-crc-ihdr.png", bytes(bad))
    bad = bytearray(good)
    bad[-13] ^= 0xFF
    add("png-bad-crc-idat.png", bytes(bad))
    add("png-bad-crc-ancillary.png",
        SIG + ihdr(8, 6) + chunk(b"tEXt", b"Comment\x00x", crc=0) + idat_for(8, 6) + chunk(b"IEND", b""))
    add("png-width-zero.png", SIG + ihdr(0, 6) + idat_for(1, 6) + chunk(b"IEND", b""))
    add("png-height-zero.png", SIG + ihdr(8, 0) + idat_for(8, 1) + chunk(b"IEND", b""))
    add("png-width-2pow31.png", SIG + ihdr(0x80000000, 1) + idat_for(8, 1) + chunk(b"IEND", b""))
    add("png-huge-100000x1.png", SIG + ihdr(100000, 1) + idat_for(8, 1) + chunk(b"IEND", b""))
    add("png-huge-16384x16384.png", SIG + ihdr(16384, 16384) + idat_for(8, 1) + chunk(b"IEND", b""))
    add("png-plausible-4096x4096-tiny.png", SIG + ihdr(4096, 4096) + idat_for(16, 2) + chunk(b"IEND", b""))
    add("png-bad-bit-depth.png", SIG + ihdr(8, 6, depth=3) + idat_for(8, 6) + chunk(b"IEND", b""))
    add("png-bad-color-type.png", SIG + ihdr(8, 6, color=5) + idat_for(8, 6) + chunk(b"IEND", b""))
    add("png-bad-interlace.png", SIG + ihdr(8, 6, interlace=2) + idat_for(8, 6) + chunk(b"IEND", b""))
    add("png-bad-compression.png", SIG + ihdr(8, 6, compression=1) + idat_for(8, 6) + chunk(b"IEND", b""))
    add("png-palette-without-plte.png", SIG + ihdr(8, 6, color=3) + idat_for(8, 6) + chunk(b"IEND", b""))
    add("png-no-idat.png", SIG + ihdr(8, 6) + chunk(b"IEND", b""))
    add("png-idat-not-zlib.png", SIG + ihdr(8, 6) + chunk(b"IDAT", b"\x00\x01\x02\x03 not zlib") + chunk(b"IEND", b""))
    add("png-idat-too-little-data.png", SIG + ihdr(8, 6) + idat_for(8, 2) + chunk(b"IEND", b""))
    add("png-bad-row-filter.png", SIG + ihdr(8, 6) + idat_for(8, 6, filt=7) + chunk(b"IEND", b""))
    add("png-chunk-length-huge.png", SIG + ihdr(8, 6) + struct.pack(">I", 0x7FFFFFF0) + b"IDAT" + b"\x00" * 64)
    # found by fuzz_image: libpng allocated a tEXt chunk at its declared length (2 GB) before reading it
    add("png-text-chunk-2gb.png", SIG + ihdr(8, 6) + struct.pack(">I", 0x78000000) + b"tEXt" + b"Comment\x00seed" +
        idat_for(8, 6) + chunk(b"IEND", b""))
    add("png-ihdr-not-first.png", SIG + idat_for(8, 6) + ihdr(8, 6) + chunk(b"IEND", b""))
    add("png-bad-signature.png", b"\x89PNG\r\n\x1a\x0a"[:7] + b"X" + good[8:])

    # ---------------- PGM and others ----------------
    px = bytes(range(0, 240, 2))[:8 * 6]
    add("pgm-no-space-after-magic.pgm", b"P58 6\n255\n" + px)
    add("pgm-missing-width.pgm", b"P5\n")
    add("pgm-width-not-a-number.pgm", b"P5\nx 6\n255\n" + px)
    add("pgm-width-negative.pgm", b"P5\n-8 6\n255\n" + px)
    add("pgm-width-zero.pgm", b"P5\n0 6\n255\n")
    add("pgm-width-huge.pgm", b"P5\n99999999999999999999 6\n255\n" + px)
    add("pgm-16384x16384.pgm", b"P5\n16384 16384\n255\n" + px)
    add("pgm-maxval-zero.pgm", b"P5\n8 6\n0\n" + px)
    add("pgm-maxval-70000.pgm", b"P5\n8 6\n70000\n" + px)
    add("pgm-no-pixels.pgm", b"P5\n8 6\n255")
    add("pgm-truncated-raster.pgm", b"P5\n8 6\n255\n" + px[:-1])
    add("pgm-trailing-bytes.pgm", b"P5\n8 6\n255\n" + px + b"\x00\x00")
    add("pgm-sample-above-maxval.pgm", b"P5\n8 6\n50\n" + px)
    add("pgm-16bit-above-maxval.pgm", b"P5 2 1 1000\n" + struct.pack(">HH", 5, 1001))
    add("pgm-16bit-odd-length.pgm", b"P5 2 1 1000\n" + b"\x00\x05\x03")
    add("pgm-p2-above-maxval.pgm", b"P2\n2 2\n15\n1 2\n3 16\n")
    add("pgm-p2-too-few.pgm", b"P2\n2 2\n15\n1 2 3\n")
    add("pgm-p2-too-many.pgm", b"P2\n2 2\n15\n1 2 3 4 5\n")
    add("pgm-p2-not-a-number.pgm", b"P2\n2 2\n15\n1 2 x 4\n")
    add("pgm-comment-instead-of-space.pgm", b"P5\n8 6\n255#\n" + px)
    add("ppm-p6-color.ppm", b"P6\n2 1\n255\n" + bytes(6))
    add("image-text-file", b"this is not an image\n")
    add("image-empty", b"")
    add("image-jpeg-signature", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d files in %s" % (len(files), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
