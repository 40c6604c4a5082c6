"""tests/serve/stop_queued.py URL PID IMAGES_IDX N - SIGTERM while :predict
jobs are still queued past the grace period. Run against
`lenet-testhooks serve --max-batch 1 --batch-window-us 0 --grace 1` with
LENET_TEST_SERVE_BATCH_MS (each forward pass slow), so most jobs wait in the
batcher's queue when the grace period runs out. N connections each send one request; the last one
hangs up right after sending (a client gone mid-request). SIGTERM once all
N are in flight. Every client still connected must get a whole answer:
200 with predictions (computed before the end) or 503 "server is stopping"
(still queued), at least one of each; none may be cut off. Only loopback,
every socket with a timeout. Prints one "ok:"/"FAIL:" line per check.
"""
import json
import os
import signal
import socket
import sys
import urllib.parse

from client import idx_images, read_to_close, wait_metric

url, pid, idx, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlsplit(url)
assert u.hostname == "127.0.0.1"
body = json.dumps({"instances": [list(idx_images(idx, 1)[0])]}).encode()
req = b"POST /v1/models/lenet:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
socks = []
for i in range(n):
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    s.sendall(req)
    socks.append(s)
socks.pop().close()  # gone before its answer

# All N taken in (the /metrics request itself is one more), then SIGTERM.
wait_metric(url, "lenet_requests_in_flight", n + 1)
os.kill(pid, signal.SIGTERM)

codes = []
for s in socks:
    resp = read_to_close(s)  # the stopping server closes the connection after its answer
    s.close()
    head, _, payload = resp.partition(b"\r\n\r\n")
    if resp.startswith(b"HTTP/1.1 200") and b'"predictions"' in payload:
        codes.append(200)
    elif resp.startswith(b"HTTP/1.1 503") and json.loads(payload or b"{}").get("error") == "server is stopping":
        codes.append(503)
    else:
        codes.append(resp[:60])


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    return ok


ok = check(all(c in (200, 503) for c in codes),
           "each of the %d clients still connected got a whole answer, 200 or 503 (%s)" % (len(codes), codes))
ok &= check(503 in codes, "the jobs still queued when the grace period ran out are answered 503 server is stopping")
ok &= check(200 in codes, "the forward pass under way then still answers 200")
sys.exit(0 if ok else 1)
