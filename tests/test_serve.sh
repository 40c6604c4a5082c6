#!/usr/bin/env bash
# tests/test_serve.sh - `lenet serve`: options and their errors;
# the routes (status, health, metrics, predict, classify-image); 1,000 MNIST
# test images through :predict equal to `lenet eval --per-image` bit for bit,
# one by one, in one request and under concurrent load with batching
# (tests/serve/agree.py); :classify-image equal to `lenet predict --json` on
# the same files; 50+ malformed requests each with its status and a normal
# request after each (tests/serve/bad_requests.py); SIGTERM exits 0.
#
# Uses $BUILD/lenet, python3 (standard library only) and curl; MNIST in
# $MNIST_DIR. The server listens on a free loopback port and is killed when
# the test exits. Ends with "N passed, M failed".
# shellcheck disable=SC2016
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/serve/serve.sh
. "$repo/tests/serve/serve.sh"

# ---------------------------------------------------------------- options ---
here=$PWD && mkdir -p "$tmp/empty" && cd "$tmp/empty" # no checkpoints/ to fall back on
expect_error "serve without --ckpt (and no checkpoints/ here): exit 2" 2 "missing option: --ckpt FILE" -- serve
cd "$here"
expect_error "serve --port 70000: exit 2 naming the option" 2 "--port" -- serve --ckpt x --port 70000
expect_error "serve --max-body 10: exit 2 naming the option" 2 "--max-body" -- serve --ckpt x --max-body 10
expect_error "serve --threads 0: exit 2" 2 "--threads" -- serve --ckpt x --threads 0
expect_error "serve --batch-window-us -1: exit 2" 2 "--batch-window-us" -- serve --ckpt x --batch-window-us -1
expect_error "serve --grace -1: exit 2 naming the option" 2 "--grace" -- serve --ckpt x --grace -1
expect_error "serve on a missing checkpoint: exit 2 naming it" 2 "$tmp/none.ckpt" -- serve --ckpt "$tmp/none.ckpt"
printf 'not a checkpoint' >"$tmp/junk.ckpt"
expect_error "serve on a corrupt checkpoint: exit 2 naming it" 2 "$tmp/junk.ckpt" -- serve --ckpt "$tmp/junk.ckpt"
run serve --help
check "serve --help lists every option" eval '[ "$rc" -eq 0 ] && for o in ckpt bind port threads max-body max-connections batch-window-us watch grace; do grep -q -- "--$o" "$tmp/out" || exit 1; done'

require_mnist "the server's answers"
command -v python3 >/dev/null 2>&1 || { skip "python3 not installed: server not tested"; finish; }
command -v curl >/dev/null 2>&1 || { skip "curl not installed (apt-get install curl): server not tested"; finish; }

ck=$(serve_train "$tmp/ck")
check "a short training run wrote a checkpoint" test -f "$ck"
[ -f "$ck" ] || finish
data=$tmp/mnist
mnist_subset "$data" 0 1000
"$lenet" eval --ckpt "$ck" --data "$data" --per-image --threads 1 >"$tmp/want.jsonl"
check "lenet eval --per-image: 1,000 lines" test "$(wc -l <"$tmp/want.jsonl")" -eq 1000
"$lenet" eval --ckpt "$ck" --data "$data" --json --threads 1 >"$tmp/eval.json"
check "eval --per-image gives eval's digits (the confusion matrix's counts)" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["confusion_matrix"]
c = [[0] * 10 for _ in range(10)]
for l in open(sys.argv[2]):
    d = json.loads(l); c[d["label"]][d["digit"]] += 1
assert c == m' "$tmp/eval.json" "$tmp/want.jsonl"

serve_start --ckpt "$ck" --threads 2 --max-body 4000000 --timeout 2 --batch-window-us 500
check "serve starts on a loopback port and prints its URL" eval '[ -n "$url" ] && case $url in http://127.0.0.1:*) true;; *) false;; esac'
[ -n "$url" ] || finish

sha=$(sha256sum "$ck" | cut -d" " -f1)
curl -s "${url}v1/models/lenet" >"$tmp/status.json"
check "GET /v1/models/lenet: AVAILABLE, checkpoint path, sha256, 61,706 parameters, conv_bias on, loaded_at" \
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["model_version_status"][0]["state"] == "AVAILABLE" and d["model_version_status"][0]["version"] == "1"
assert d["checkpoint"] == sys.argv[2] and d["sha256"] == sys.argv[3] and d["parameters"] == 61706
assert d["variant"] == "conv_bias on" and d["loaded_at"].endswith("Z") and d["ready"] is True' \
    "$tmp/status.json" "$ck" "$sha"
check "GET /healthz: 200 {\"status\": \"ok\"}" test "$(curl -s -w ' %{http_code}' "${url}healthz")" = '{"status":"ok"} 200'
curl -s -D "$tmp/page.h" "$url" >"$tmp/page.html"
check "GET /: the page, text/html, with a Content-Security-Policy allowing nothing from elsewhere" \
    eval 'grep -qi "^content-type: text/html" "$tmp/page.h" && grep -qi "^content-security-policy: default-src .none." "$tmp/page.h" && grep -q "<canvas" "$tmp/page.html"'
check "the page loads nothing from elsewhere (no http:// or https:// URL in it)" \
    eval '! grep -Eq "(src|href)=\"?(https?:)?//" "$tmp/page.html"'

# ------------------------------------------------------------- agreement ---
py agree.py "$url" "$data/test/t10k-images-idx3-ubyte" "$tmp/want.jsonl" 1000 >"$tmp/agree.out" 2>&1
rc=$?
cat "$tmp/agree.out"
passed=$((passed + $(grep -c '^ok:' "$tmp/agree.out")))
failed=$((failed + $(grep -c '^FAIL:' "$tmp/agree.out")))
[ "$rc" -eq 0 ] || grep -q '^FAIL:' "$tmp/agree.out" || fail "agree.py exited $rc"

# :classify-image equals `lenet predict --json` on the same files.
for i in 0 1 2 3 4 5 6 7 8 9; do
    { printf 'P5\n28 28\n255\n'; tail -c +$((17 + i * 784)) "$data/test/t10k-images-idx3-ubyte" | head -c 784; } >"$tmp/d$i.pgm"
    curl -s --data-binary @"$tmp/d$i.pgm" "${url}v1/models/lenet:classify-image" >"$tmp/c$i.json"
done
"$lenet" predict --ckpt "$ck" --json --threads 1 "$tmp"/d[0-9].pgm >"$tmp/predict.jsonl"
check ":classify-image on 10 PGM files: digits and probabilities equal lenet predict --json's bit for bit" python3 -c '
import json, sys
sys.path.insert(0, sys.argv[1])
from client import same
want = [json.loads(l) for l in open(sys.argv[2])]
for i, w in enumerate(want):
    got = json.load(open("%s/c%d.json" % (sys.argv[3], i)))["predictions"][0]
    assert same(got, w), (i, got, w)' "$repo/tests/serve" "$tmp/predict.jsonl" "$tmp"

# ---------------------------------------------------------- bad requests ---
py bad_requests.py "$url" "$data/test/t10k-images-idx3-ubyte" 2 4000000 >"$tmp/bad.out" 2>&1
rc=$?
grep -v '^ok:' "$tmp/bad.out"
passed=$((passed + $(grep -c '^ok:' "$tmp/bad.out")))
failed=$((failed + $(grep -c '^FAIL:' "$tmp/bad.out")))
[ "$rc" -eq 0 ] || grep -q '^FAIL:' "$tmp/bad.out" || fail "bad_requests.py exited $rc"

# ---------------------------------------------------------------- metrics ---
curl -s -D "$tmp/metrics.h" "${url}metrics" >"$tmp/metrics.txt"
check "GET /metrics: Prometheus text 0.0.4 with requests by route and code, latency and batch histograms, reloads" \
    eval 'grep -qi "^content-type: text/plain; version=0.0.4" "$tmp/metrics.h" &&
          grep -q "^lenet_http_requests_total{route=\"predict\",code=\"200\"} [0-9]" "$tmp/metrics.txt" &&
          grep -q "^lenet_http_requests_total{route=\"predict\",code=\"400\"} [0-9]" "$tmp/metrics.txt" &&
          grep -q "^lenet_http_requests_total{route=\"other\",code=\"404\"} [0-9]" "$tmp/metrics.txt" &&
          grep -q "^lenet_request_duration_seconds_bucket{route=\"predict\",le=\"+Inf\"} [0-9]" "$tmp/metrics.txt" &&
          grep -q "^lenet_batch_size_count [0-9]" "$tmp/metrics.txt" &&
          grep -q "^lenet_model_reloads_total{result=\"ok\"} 0" "$tmp/metrics.txt" &&
          tail -c 1 "$tmp/metrics.txt" | od -c | grep -q "\\\\n"'
check "/metrics: every histogram's +Inf bucket equals its _count" python3 -c '
import re, sys
t = open(sys.argv[1]).read()
inf = {m.group(1) + "{" + m.group(2).rstrip(",") + "}": m.group(3)
       for m in re.finditer(r"^(\w+)_bucket\{(.*?)le=\"\+Inf\"\} (\d+)$", t, re.M)}
cnt = {m.group(1) + "{" + (m.group(2) or "") + "}": m.group(3)
       for m in re.finditer(r"^(\w+)_count(?:\{(.*?)\})? (\d+)$", t, re.M)}
assert inf and inf == cnt, (inf, cnt)' "$tmp/metrics.txt"

serve_stop
check "SIGTERM: the server exits 0" test "$serve_rc" -eq 0
check "SIGTERM: it said it was finishing and stopped" grep -q "stopped" "$tmp/serve.err"
finish
