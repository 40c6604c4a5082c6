#!/usr/bin/env bash
# bench/serve.sh - `make bench-serve` (also the last part of `make bench`):
# `lenet serve` under load, beside the path a user would otherwise take - the
# exported ONNX model in onnxruntime-node behind Node's http module
# (bench/onnx_serve.js). Both answer POST /v1/models/lenet:predict with one
# MNIST test image per request; `wrk` (Debian) drives each for DURATION
# seconds (default 30) with CONNECTIONS connections (default 64), loopback
# only. Reports requests/s, p50/p99 latency, errors and non-2xx answers, and
# our server's RSS before and after at least MIN_REQUESTS (default 500,000)
# requests (more wrk runs are added until that many were served). Writes
# bench/serve_results.md.
#   BUILD=build DURATION=30 CONNECTIONS=64 bash bench/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DATA=${DATA:-datasets/MNIST_Data}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-64}
MIN_REQUESTS=${MIN_REQUESTS:-500000}
command -v wrk >/dev/null 2>&1 || { echo "bench-serve: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
out=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$out"
}
trap cleanup EXIT

# A trained model (1 epoch) and its ONNX export.
"$BUILD/lenet" train --data "$DATA" --epochs 1 --print-every 0 --ckpt-dir "$out/ck" >/dev/null
ck=$(ls "$out"/ck/*.ckpt | tail -1)
"$BUILD/lenet" export --ckpt "$ck" --format onnx -o "$out/lenet.onnx" >/dev/null
# The request: the first test image as a flat list of 784 grey levels.
python3 - "$DATA" "$out/body.json" <<'PY'
import gzip, json, os, sys
d = sys.argv[1]
for p in ("test/t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte", "test/t10k-images-idx3-ubyte.gz"):
    f = os.path.join(d, p)
    if os.path.exists(f):
        raw = (gzip.open if f.endswith(".gz") else open)(f, "rb").read()
        break
open(sys.argv[2], "w").write(json.dumps({"instances": [list(raw[16:16 + 784])]}))
PY
cat >"$out/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$out/body.json", "rb")
wrk.body = f:read("*a")
f:close()
EOF
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
run_wrk() { # URL OUTFILE
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$out/post.lua" "$1" >"$2"
    grep -Eo '^ *[0-9]+ requests in' "$2" | awk '{print $1}'
}
wait_url() { # LOGFILE -> URL
    local i u
    for i in $(seq 1 100); do
        u=$(grep -o 'http://[^ ]*/' "$1" | head -1 || true)
        [ -n "$u" ] && { echo "$u"; return 0; }
        sleep 0.1
    done
    echo "bench-serve: server did not start: $(cat "$1")" >&2
    return 1
}
warm() { for _ in 1 2 3 4 5; do curl -s -o /dev/null --data-binary @"$out/body.json" "$1"; done; }

# ---- ours (the 1-minute load average before each side: other work on the machine)
load_ours=$(cut -d' ' -f1 /proc/loadavg)
"$BUILD/lenet" serve --ckpt "$ck" --port 0 >"$out/serve.log" 2>&1 &
pids+=($!)
spid=$!
url=$(wait_url "$out/serve.log")
warm "${url}v1/models/lenet:predict"
rss0=$(rss_kb "$spid")
echo "bench-serve: lenet serve, wrk ${DURATION} s x ${CONNECTIONS} connections ..." >&2
total=$(run_wrk "${url}v1/models/lenet:predict" "$out/wrk_ours.txt")
extra=0
while [ "$total" -lt "$MIN_REQUESTS" ] && [ "$extra" -lt 10 ]; do
    extra=$((extra + 1))
    echo "bench-serve: $total requests so far; another run for the RSS check ..." >&2
    n=$(run_wrk "${url}v1/models/lenet:predict" "$out/wrk_more_$extra.txt")
    total=$((total + n))
done
rss1=$(rss_kb "$spid")
curl -s "${url}metrics" >"$out/metrics.txt"
kill -TERM "$spid"
wait "$spid" || true

# ---- Node + onnxruntime-node (installed into tests/onnx as tests/test_onnx.sh does)
have_node=0
load_node=-
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    if [ ! -d tests/onnx/node_modules/onnxruntime-node ]; then
        (cd tests/onnx && npm ci --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
            echo "bench-serve: npm ci in tests/onnx failed; ONNX side skipped" >&2
    fi
    if [ -d tests/onnx/node_modules/onnxruntime-node ]; then
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        NODE_PATH=tests/onnx/node_modules node bench/onnx_serve.js "$out/lenet.onnx" "$port" >"$out/node.log" 2>&1 &
        pids+=($!)
        npid=$!
        nurl=$(wait_url "$out/node.log")
        load_node=$(cut -d' ' -f1 /proc/loadavg)
        warm "${nurl}v1/models/lenet:predict"
        echo "bench-serve: onnxruntime-node, wrk ${DURATION} s x ${CONNECTIONS} connections ..." >&2
        run_wrk "${nurl}v1/models/lenet:predict" "$out/wrk_node.txt" >/dev/null
        kill "$npid"
        have_node=1
    fi
fi

python3 - "$out" "$have_node" "$rss0" "$rss1" "$total" "$DURATION" "$CONNECTIONS" "$load_ours" "$load_node" <<'PY'
import os, platform, re, subprocess, sys
out, have_node, rss0, rss1, total, dur, conn = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
load_ours, load_node = sys.argv[8], sys.argv[9]
def ms(s):
    v, u = re.match(r"([\d.]+)(us|ms|s|m)", s).groups()
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]
def parse(f):
    t = open(f).read()
    sys.stderr.write(t)
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)),
         "requests": int(re.search(r"(\d+) requests in", t).group(1)),
         "p50": ms(re.search(r"^\s*50%\s+(\S+)", t, re.M).group(1)), "p99": ms(re.search(r"^\s*99%\s+(\S+)", t, re.M).group(1)),
         "non2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", t) or [0, 0])[1]), "errors": 0}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    if m:
        r["errors"] = sum(map(int, m.groups()))
    return r
ours = parse(f"{out}/wrk_ours.txt")
node = parse(f"{out}/wrk_node.txt") if have_node else None
batches = dict(re.findall(r"^lenet_batch_size_(sum|count) (\d+)$", open(f"{out}/metrics.txt").read(), re.M))
mean_batch = int(batches["sum"]) / max(1, int(batches["count"]))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows = [("requests/s", "%.0f" % ours["rps"], "%.0f" % node["rps"] if node else "-",
         "%.1fx" % (ours["rps"] / node["rps"]) if node else ""),
        ("p50 latency (ms)", "%.2f" % ours["p50"], "%.2f" % node["p50"] if node else "-",
         "%.1fx lower" % (node["p50"] / ours["p50"]) if node else ""),
        ("p99 latency (ms)", "%.2f" % ours["p99"], "%.2f" % node["p99"] if node else "-",
         "%.1fx lower" % (node["p99"] / ours["p99"]) if node else ""),
        ("requests in the %s s run" % dur, str(ours["requests"]), str(node["requests"]) if node else "-", ""),
        ("socket errors / non-2xx", "%d / %d" % (ours["errors"], ours["non2xx"]),
         "%d / %d" % (node["errors"], node["non2xx"]) if node else "-", "")]
text = ("Machine: %d CPUs, %s; %s. wrk -t2 -c%s -d%ss --latency, one 28x28 image per POST "
        "/v1/models/lenet:predict, loopback; server and wrk share the machine. 1-minute load average "
        "before each side (other work on the machine): %s (ours), %s (ONNX).\n\n"
        % (os.cpu_count(), cpu, platform.platform(), conn, dur, load_ours, load_node))
text += "| measure | lenet serve | onnxruntime-node + node:http | ours vs ONNX |\n|---|---|---|---|\n"
text += "".join("| %s | %s | %s | %s |\n" % r for r in rows)
text += ("\nlenet serve RSS: %.1f MB before, %.1f MB after %d requests (growth %+.1f MB); "
         "mean forward pass %.1f images (dynamic batching).\n" % (rss0 / 1024, rss1 / 1024, total,
                                                                   (rss1 - rss0) / 1024, mean_batch))
print(text)
open("bench/serve_results.md", "w").write("# `make bench-serve` results\n\nWritten by bench/serve.sh.\n\n" + text)
PY
