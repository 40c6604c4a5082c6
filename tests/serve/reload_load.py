"""tests/serve/reload_load.py URL IMAGES_IDX N WANT_A SHA_A WANT_B SHA_B SECONDS -
8 client threads send single-image :predict requests for SECONDS while the
test swaps the checkpoint and sends SIGHUP: every request must succeed, and
each answer must equal, bit for bit, what `lenet eval --per-image` gives on
the checkpoint its X-Model-Sha256 header names (A or B). Prints one
"ok:"/"FAIL:" line per check and how many answers came from each model.
"""
import json
import sys
import threading
import time

from client import conn, idx_images, predict, same

url, idx, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = {sys.argv[5]: [json.loads(l) for l in open(sys.argv[4])][:n],
        sys.argv[7]: [json.loads(l) for l in open(sys.argv[6])][:n]}
seconds = float(sys.argv[8])
images = idx_images(idx, n)
counts = {k: 0 for k in want}
bad, errors = [], []
lock = threading.Lock()


def worker(t):
    c = conn(url)
    end = time.time() + seconds
    i = t
    try:
        while time.time() < end:
            k = i % n
            p, hd = predict(c, [images[k]])
            sha = hd.get("x-model-sha256")
            with lock:
                if sha not in want:
                    bad.append("unknown model %s" % sha)
                else:
                    counts[sha] += 1
                    if not same(p[0], want[sha][k]):
                        bad.append("image %d on %s" % (k, sha[:12]))
            i += 8
    except Exception as e:  # noqa: BLE001
        errors.append(repr(e))
    c.close()


ts = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
for t in ts:
    t.start()
for t in ts:
    t.join()
a, b = list(want)
print("   answers: %d from A, %d from B" % (counts[a], counts[b]))
ok = not errors
print(("ok:   " if ok else "FAIL: ") + "requests during reloads: all answered (%s)" % (errors[0] if errors else "no errors"))
ok2 = not bad and counts[a] > 0 and counts[b] > 0
print(("ok:   " if ok2 else "FAIL: ") + "each answer equals eval on the checkpoint that answered it, and both answered (%s)"
      % (bad[0] if bad else "%d answers" % (counts[a] + counts[b])))
sys.exit(0 if ok and ok2 else 1)
