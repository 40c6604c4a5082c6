"""tests/serve/client.py - what the `lenet serve` test scripts share: a
keep-alive HTTP client, reading a raw socket to its end, MNIST images from
IDX files, exact comparison of predictions (probabilities compared as
float32 bit patterns), and waiting on a /metrics value.

Only the Python standard library: http.client, json, struct, time.
"""
import http.client
import json
import struct
import time
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


def wait_metric(url, name, at_least, seconds=20):
    """Poll /metrics until metric `name` is >= at_least (at most `seconds`)."""
    end = time.time() + seconds
    while metric(url, name) < at_least and time.time() < end:
        time.sleep(0.05)


def read_to_close(s):
    """Everything socket s receives until the server closes it (or the
    socket's timeout or an error ends it)."""
    buf = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    except OSError:
        pass
    return buf
