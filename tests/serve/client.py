"""tests/serve/client.py - what the `lenet serve` test scripts share: a
keep-alive HTTP client, MNIST images from IDX files, and exact comparison of
predictions (probabilities compared as float32 bit patterns).

Only the Python standard library: http.client, json, struct, threading.
"""
import http.client
import json
import struct
import urllib.parse


def conn(url, timeout=30):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)


def request(c, method, path, body=None, headers=None):
    """One request on connection c: (status, headers dict, body bytes)."""
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def predict(c, images, nested=False):
    """POST :predict for a list of 784-byte images; the decoded answer and headers."""
    inst = [[list(im[r * 28:(r + 1) * 28]) for r in range(28)] if nested else list(im) for im in images]
    st, hd, data = request(c, "POST", "/v1/models/lenet:predict", json.dumps({"instances": inst}),
                           {"Content-Type": "application/json"})
    if st != 200:
        raise RuntimeError("predict: status %d: %s" % (st, data[:300]))
    return json.loads(data)["predictions"], hd


def idx_images(path, count):
    with open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051 and rows == 28 and cols == 28
        n = min(n, count)
        raw = f.read(784 * n)
    return [raw[i * 784:(i + 1) * 784] for i in range(n)]


def f32(x):
    return struct.pack("<f", x)


def same(pred, want):
    """pred (server) and want (eval --per-image / predict --json line) agree exactly."""
    return (pred["digit"] == want["digit"] and len(pred["probabilities"]) == 10 and
            all(f32(a) == f32(b) for a, b in zip(pred["probabilities"], want["probabilities"])))


def metric(url, name):
    """Sum of every sample of metric `name` (with any labels) in /metrics."""
    c = conn(url)
    st, hd, data = request(c, "GET", "/metrics")
    c.close()
    total = 0.0
    for line in data.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total
