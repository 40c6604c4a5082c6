"""tests/serve/bad_requests.py URL IMAGES_IDX TIMEOUT_S MAX_BODY - malformed and hostile
requests against a `lenet serve --max-body MAX_BODY --timeout TIMEOUT_S`: each
must get its status (our own errors as {"error": "<one line>"}), and a
normal :predict on a new connection right after each must succeed. Then a
client that stalls mid-request must be disconnected by the idle timeout.
Prints one "ok:"/"FAIL:" line per check; exits 1 if any failed.
"""
import json
import socket
import struct
import sys
import time
import urllib.parse
import zlib

from client import conn, idx_images, predict, read_to_close

url, idx, timeout_s, max_body = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urllib.parse.urlsplit(url)
image = idx_images(idx, 1)[0]
failed = 0
P = "/v1/models/lenet:predict"
C = "/v1/models/lenet:classify-image"


def check(what, ok, detail=""):
    global failed
    print(("ok:   " if ok else "FAIL: ") + what + ("" if ok or not detail else "  [%s]" % detail))
    failed += not ok


def raw(data, read_timeout=10):
    """Send raw bytes on a new connection; the status code of the answer (0 if none) and its body."""
    s = socket.create_connection((u.hostname, u.port), timeout=read_timeout)
    try:
        s.sendall(data)  # no half-close: every request here says Connection: close
    except OSError:
        pass  # the server may close early (e.g. 413 before the body)
    buf = read_to_close(s)
    s.close()
    if not buf.startswith(b"HTTP/1."):
        return 0, b""
    head, _, body = buf.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def http(method, path, body=b"", headers=None):
    h = {"Host": "x", "Connection": "close"}
    h.update(headers or {})
    if "Transfer-Encoding" not in h and "Content-Length" not in h:
        h["Content-Length"] = str(len(body))
    req = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    return raw(req.encode() + (body or b""))


def chunked(body, size=4096):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def one_error_line(body):
    try:
        d = json.loads(body)
    except ValueError:
        return False
    return list(d) == ["error"] and isinstance(d["error"], str) and d["error"] and "\n" not in d["error"]


def normal_ok():
    try:
        c = conn(url, timeout=10)
        preds = predict(c, [image])[0]
        c.close()
        return len(preds) == 1 and len(preds[0]["probabilities"]) == 10
    except Exception:  # noqa: BLE001
        return False


def png(width, height, pixels, crc_ok=True, cut=0):
    def chunk(kind, data):
        crc = zlib.crc32(kind + data) ^ (0 if crc_ok else 1)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
    raw_rows = b"".join(b"\0" + pixels[y * width:(y + 1) * width] for y in range(height))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw_rows)) + chunk(b"IEND", b""))
    return data[:len(data) - cut] if cut else data


inst = list(image)
good = json.dumps({"instances": [inst]}).encode()
digit_png = png(28, 28, image)
big_num = "9" * 30

cases = [  # (what, status, method, path, body, extra headers, our JSON error?)
    ("unknown path", 404, "GET", "/nope", b"", None, True),
    ("path traversal", 404, "GET", "/../../etc/passwd", b"", None, True),
    ("path traversal under the model", 404, "GET", "/v1/models/lenet/../../../etc/passwd", b"", None, True),
    ("unknown model, status", 404, "GET", "/v1/models/other", b"", None, True),
    ("unknown model, predict", 404, "POST", "/v1/models/other:predict", good, None, True),
    ("unknown verb of the model", 404, "POST", "/v1/models/lenet:explain", good, None, True),
    ("GET on :predict", 405, "GET", P, b"", None, True),
    ("PUT on :predict", 405, "PUT", P, good, None, True),
    ("DELETE on the model", 405, "DELETE", "/v1/models/lenet", b"", None, True),
    ("POST on the page", 405, "POST", "/", b"x", None, True),
    ("POST on /healthz", 405, "POST", "/healthz", b"", None, True),
    ("PATCH on /metrics", 405, "PATCH", "/metrics", b"", None, True),
    ("GET on :classify-image", 405, "GET", C, b"", None, True),
    ("body over --max-body (Content-Length; refused before the body is sent)", 413, "POST", P, b"",
     {"Content-Length": str(max_body + 1)}, True),
    ("body over --max-body (chunked, no length)", 413, "POST", P, chunked(b" " * (max_body + 1), 65536),
     {"Transfer-Encoding": "chunked"}, True),
    ("picture over --max-body", 413, "POST", C, b"\0" * 1000, {"Content-Length": str(max_body + 1)}, True),
    ("empty body", 400, "POST", P, b"", None, True),
    ("not JSON", 400, "POST", P, b"hello", None, True),
    ("truncated JSON", 400, "POST", P, good[:len(good) // 2], None, True),
    ("top level is a list", 400, "POST", P, json.dumps([inst]).encode(), None, True),
    ("no instances key", 400, "POST", P, b"{}", None, True),
    ("instances is a number", 400, "POST", P, b'{"instances": 5}', None, True),
    ("instances is empty", 400, "POST", P, b'{"instances": []}', None, True),
    ("image of 783 levels", 400, "POST", P, json.dumps({"instances": [inst[:783]]}).encode(), None, True),
    ("image of 785 levels", 400, "POST", P, json.dumps({"instances": [inst + [0]]}).encode(), None, True),
    ("27 rows", 400, "POST", P, json.dumps({"instances": [[[0] * 28] * 27]}).encode(), None, True),
    ("a row of 27", 400, "POST", P, json.dumps({"instances": [[[0] * 28] * 27 + [[0] * 27]]}).encode(), None, True),
    ("a row that is a number", 400, "POST", P, json.dumps({"instances": [[[0] * 28] * 27 + [5]]}).encode(), None, True),
    ("an image that is a string", 400, "POST", P, b'{"instances": ["7"]}', None, True),
    ("level 256", 400, "POST", P, json.dumps({"instances": [[256] + inst[1:]]}).encode(), None, True),
    ("level -1", 400, "POST", P, json.dumps({"instances": [inst[:5] + [-1] + inst[6:]]}).encode(), None, True),
    ("level 12.5", 400, "POST", P, json.dumps({"instances": [[12.5] + inst[1:]]}).encode(), None, True),
    ("NaN", 400, "POST", P, ('{"instances": [[NaN' + ",0" * 783 + "]]}").encode(), None, True),
    ("Infinity", 400, "POST", P, ('{"instances": [[Infinity' + ",0" * 783 + "]]}").encode(), None, True),
    ("1e400", 400, "POST", P, ('{"instances": [[1e400' + ",0" * 783 + "]]}").encode(), None, True),
    ("a 30-digit integer", 400, "POST", P, ('{"instances": [[' + big_num + ",0" * 783 + "]]}").encode(), None, True),
    ("a level that is a string", 400, "POST", P, json.dumps({"instances": [["12"] + inst[1:]]}).encode(), None, True),
    ("a level that is null", 400, "POST", P, json.dumps({"instances": [[None] + inst[1:]]}).encode(), None, True),
    ("a level that is true", 400, "POST", P, json.dumps({"instances": [[True] + inst[1:]]}).encode(), None, True),
    ("duplicate key", 400, "POST", P, b'{"instances": [], "instances": []}', None, True),
    ("unknown key", 400, "POST", P, json.dumps({"instances": [inst], "foo": 1}).encode(), None, True),
    ("columnar inputs", 400, "POST", P, json.dumps({"inputs": [inst]}).encode(), None, True),
    ("signature_name not a string", 400, "POST", P, json.dumps({"instances": [inst], "signature_name": 3}).encode(),
     None, True),
    ("trailing bytes after the JSON", 400, "POST", P, good + b" x", None, True),
    ("invalid UTF-8", 400, "POST", P, b'{"signature_name": "\xff\xfe", "instances": []}', None, True),
    ("a NUL byte inside", 400, "POST", P, good[:20] + b"\0" + good[21:], None, True),
    ("nesting 30,000 deep", 400, "POST", P, b'{"instances": ' + b"[" * 30000 + b"]" * 30000 + b"}", None, True),
    ("picture: empty body", 400, "POST", C, b"", None, True),
    ("picture: not an image", 400, "POST", C, b"GIF89a not supported", None, True),
    ("picture: truncated PNG", 400, "POST", C, digit_png[:len(digit_png) - 20], None, True),
    ("picture: PNG with a bad CRC", 400, "POST", C, png(28, 28, image, crc_ok=False), None, True),
    ("picture: PNG claiming 100000x100000", 400, "POST", C,
     png(28, 28, image)[:16] + struct.pack(">II", 100000, 100000) + png(28, 28, image)[24:], None, True),
    ("picture: blank (no digit)", 400, "POST", C, b"P5\n8 8\n255\n" + b"\x80" * 64, None, True),
    ("picture: PGM with too few pixels", 400, "POST", C, b"P5\n28 28\n255\n" + b"\0" * 100, None, True),
    ("picture: PGM level above maxval", 400, "POST", C, b"P2\n2 1\n10\n5 11\n", None, True),
    ("a JSON body on :classify-image", 400, "POST", C, good, None, True),
]
for what, want, method, path, body, headers, ours in cases:
    st, resp = http(method, path, body, headers)
    ok = st == want and (not ours or one_error_line(resp))
    check("%s: %d with one error line" % (what, want), ok, "got %d %s" % (st, resp[:160]))
    check("  ... and a normal request right after succeeds", normal_ok())

# Malformed HTTP itself (answered by libmicrohttpd, not by our handler).
for what, data, want in [
    ("request line is garbage", b"HELLO\r\n\r\n", (0, 400)),
    ("a header line without a colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", (400,)),
    ("40 KB of headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n", (431,)),
    ("Content-Length not a number", b"POST " + P.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
     (400,)),
]:
    st, resp = raw(data)
    check("%s: %s" % (what, " or ".join("closed" if w == 0 else str(w) for w in want)), st in want,
          "got %d %s" % (st, resp[:120]))
    check("  ... and a normal request right after succeeds", normal_ok())

# A body shorter than its Content-Length, then the client goes away.
s = socket.create_connection((u.hostname, u.port))
s.sendall(b"POST " + P.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + good[:100])
s.close()
check("a client that vanishes mid-body: the next request succeeds", normal_ok())

# The correct request itself, and a picture.
st, resp = http("POST", P, good)
check("the well-formed request: 200", st == 200, "got %d %s" % (st, resp[:160]))
st, resp = http("POST", C, digit_png)
detail = "got %d %s" % (st, resp[:160])
ok = st == 200
if ok:
    d = json.loads(resp)["predictions"][0]
    ok = len(d["probabilities"]) == 10 and len(d["prepared"]) == 28 and all(len(r) == 28 for r in d["prepared"])
check("a PNG on :classify-image: 200 with the digit, 10 probabilities and the prepared 28x28", ok, detail)

# A client that stops sending half-way through its headers is disconnected.
# The clock starts before the send: the server's idle timer starts when the
# bytes arrive, so `waited` is never short of it, however late this process
# runs again after sending on a busy machine.
s = socket.create_connection((u.hostname, u.port))
t0 = time.time()
s.sendall(b"POST " + P.encode() + b" HTTP/1.1\r\nHost: x\r\n")
s.settimeout(timeout_s + 10)
try:
    closed = s.recv(100) == b""
except OSError:
    closed = True
waited = time.time() - t0
s.close()
check("a client stalled mid-headers is disconnected after the idle timeout (%d s): after %.1f s"
      % (timeout_s, waited), closed and timeout_s - 1 <= waited <= timeout_s + 5)
check("  ... and a normal request right after succeeds", normal_ok())
print("bad requests tried: %d" % (len(cases) + 4 + 2))
sys.exit(1 if failed else 0)
