"""tests/serve/slow_term.py URL PID IMAGES_IDX - graceful stop: a :predict
request is half sent when the server gets SIGTERM; new connections must then
be refused, and the half-sent request, once completed, must still be
answered 200. Prints one "ok:"/"FAIL:" line per check.
"""
import json
import os
import signal
import socket
import sys
import time
import urllib.parse

from client import idx_images, read_to_close, wait_metric

url, pid, idx = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = urllib.parse.urlsplit(url)
body = json.dumps({"instances": [list(idx_images(idx, 1)[0])]}).encode()
s = socket.create_connection((u.hostname, u.port), timeout=20)
s.sendall(b"POST /v1/models/lenet:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) +
          body[:len(body) // 2])
# SIGTERM only once the server has taken the request in (its headers read):
# /metrics then counts 2 in flight, that request and the /metrics one. A
# fixed pause here is a race on a busy machine: a request still in the listen
# backlog (or not yet parsed) when SIGTERM lands is refused, not in flight.
wait_metric(url, "lenet_requests_in_flight", 2)
os.kill(pid, signal.SIGTERM)


def refused_now():
    try:
        c = socket.create_connection((u.hostname, u.port), timeout=5)
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.recv(100) == b""
        c.close()
        return r
    except OSError:
        return True


# The server refuses new connections once its signal loop has seen SIGTERM:
# probe until it does (at most 20 s), not once after a fixed pause.
end = time.time() + 20
refused = refused_now()
while not refused and time.time() < end:
    time.sleep(0.05)
    refused = refused_now()
print(("ok:   " if refused else "FAIL: ") + "after SIGTERM new connections are refused")
s.sendall(body[len(body) // 2:])
resp = read_to_close(s)  # the stopping server closes the connection after its answer
ok = resp.startswith(b"HTTP/1.1 200") and b'"predictions"' in resp
print(("ok:   " if ok else "FAIL: ") + "the request in flight at SIGTERM is answered 200 (%s)" % resp[:40])
sys.exit(0 if refused and ok else 1)
