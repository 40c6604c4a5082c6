"""tests/serve/agree.py URL IMAGES_IDX WANT_JSONL N - the first N test images
through `POST /v1/models/lenet:predict` must give exactly what
`lenet eval --per-image` printed for them (WANT_JSONL): the same digit and
the same float32 probabilities, bit for bit:
  1. one request per image, one after another (half as 28x28, half flat);
  2. one request holding all N images;
  3. under concurrent load: 24 client threads, each on its own keep-alive
     connection, sending requests of 1 to 5 images, so the server's dynamic
     batching mixes requests into shared forward passes (checked in
     /metrics: forward passes carried more than one request on average).
Prints one "ok:"/"FAIL:" line per check; exits 1 if any failed.
"""
import json
import sys
import threading

from client import conn, idx_images, metric, predict, same

url, idx, want_path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
images = idx_images(idx, n)
want = [json.loads(l) for l in open(want_path)][:n]
assert len(images) == n and len(want) == n
failed = 0


def check(what, ok):
    global failed
    print(("ok:   " if ok else "FAIL: ") + what)
    failed += not ok


def mismatches(got):
    return [i for i in range(n) if got[i] is None or not same(got[i], want[i])]


# 1. one by one
c = conn(url)
got = [None] * n
for i in range(n):
    got[i] = predict(c, [images[i]], nested=i % 2 == 0)[0][0]
c.close()
bad = mismatches(got)
check("%d images one request each, sequentially: digits and probabilities equal eval's bit for bit (%d differ%s)"
      % (n, len(bad), ", first %d" % bad[0] if bad else ""), not bad)
check("the digits are not all alike (%d distinct)" % len({g["digit"] for g in got}), len({g["digit"] for g in got}) >= 8)

# 2. all in one request
c = conn(url)
got = predict(c, images)[0]
c.close()
bad = mismatches(got)
check("%d images in one request: equal to eval's bit for bit (%d differ)" % (n, len(bad)), not bad)

# 3. concurrent load
passes0 = metric(url, "lenet_batch_size_count")
reqs0 = metric(url, "lenet_http_requests_total")
got = [None] * n
errors = []
lock = threading.Lock()
next_i = [0]


def client_thread():
    c = conn(url)
    k = 0
    try:
        while True:
            with lock:
                i = next_i[0]
                size = 1 + (i * 7 + k) % 5
                size = min(size, n - i)
                next_i[0] = i + size
            if size <= 0:
                break
            k += 1
            preds = predict(c, images[i:i + size], nested=(i % 3 == 0))[0]
            for j, p in enumerate(preds):
                got[i + j] = p
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        errors.append(repr(e))
    finally:
        c.close()


threads = [threading.Thread(target=client_thread) for _ in range(24)]
for t in threads:
    t.start()
for t in threads:
    t.join()
passes = metric(url, "lenet_batch_size_count") - passes0
reqs = metric(url, "lenet_http_requests_total") - reqs0 - 2  # the two /metrics scrapes
check("concurrent load (24 connections, requests of 1-5 images): every request answered (%s)"
      % (errors[0] if errors else "no errors"), not errors)
bad = mismatches(got)
check("concurrent load: all %d answers equal eval's bit for bit (%d differ)" % (n, len(bad)), not bad)
check("concurrent load: requests shared forward passes (%d requests in %d passes)" % (reqs, passes),
      0 < passes < reqs)
sys.exit(1 if failed else 0)
