#!/usr/bin/env python3
"""tests/ckpt_tool.py - craft hostile MindSpore checkpoints for the tests
(Python standard library only; the wire format is in tests/ref/mindspore_checkpoint.proto).

  ckpt_tool.py names FILE                      every tensor's name, one a line
  ckpt_tool.py poke FILE OUT NAME INDEX VALUE  copy FILE with element INDEX of
                                               Float32 tensor NAME set to VALUE
                                               (nan, inf, -inf or a number)
  ckpt_tool.py dup FILE OUT NAME               copy FILE with tensor NAME repeated
                                               at the end (not a consecutive slice)
  ckpt_tool.py shape OUT NAME DIM...           a file holding one Float32 tensor NAME
                                               of shape DIM... and no content
  ckpt_tool.py short FILE OUT NAME             copy FILE with tensor NAME's content
                                               4 bytes short
"""
import struct
import sys


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(b):
    """(field, wire, value) of a message; value: bytes (wire 2) or int (wire 0)."""
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise SystemExit("unexpected wire type %d" % w)
        out.append((f, w, v))
    return out


def enc(fs):
    out = bytearray()
    for f, w, v in fs:
        out += enc_varint(f << 3 | w)
        out += enc_varint(v) if w == 0 else enc_varint(len(v)) + v
    return bytes(out)


def records(data):
    """[(name, tensor_fields)] of a checkpoint (no CRC trailer)."""
    out = []
    for f, _, msg in fields(data):
        assert f == 1
        value = dict((ff, vv) for ff, _, vv in fields(msg))
        out.append((value[1].decode(), fields(value[2])))
    return out


def record(name, tensor):
    return enc([(1, 2, enc([(1, 2, name.encode()), (2, 2, enc(tensor))]))])


def main(argv):
    cmd = argv[1]
    if cmd == "shape":
        out, name, dims = argv[2], argv[3], [int(d) for d in argv[4:]]
        tensor = [(1, 0, d) for d in dims] + [(2, 2, b"Float32"), (3, 2, b"")]
        open(out, "wb").write(record(name, tensor))
        return
    recs = records(open(argv[2], "rb").read())
    if cmd == "names":
        print("\n".join(n for n, _ in recs))
        return
    out, name = argv[3], argv[4]
    body = bytearray()
    extra = b""
    for n, t in recs:
        if n == name:
            if cmd == "poke":
                idx, val = int(argv[5]), float(argv[6])
                t = [(f, w, bytearray(v) if f == 3 else v) for f, w, v in t]
                for f, _, v in t:
                    if f == 3:
                        v[4 * idx:4 * idx + 4] = struct.pack("<f", val)
                t = [(f, w, bytes(v) if f == 3 else v) for f, w, v in t]
            elif cmd == "dup":
                extra = record(n, t)
            elif cmd == "short":
                t = [(f, w, v[:-4] if f == 3 else v) for f, w, v in t]
        body += record(n, t)
    open(out, "wb").write(bytes(body) + extra)


if __name__ == "__main__":
    main(sys.argv)
