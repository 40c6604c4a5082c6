#!/usr/bin/env bash
# tests/test_serve_reload.sh - `lenet serve` reloads and stops:
#   - SIGHUP loads the checkpoint again: status, X-Model-Sha256 and the answers
#     (equal to `lenet eval --per-image` on the new file) follow it;
#   - a checkpoint that fails to load is refused, logged, reported in the
#     status and /metrics, and the old model keeps answering;
#   - requests sent without pause while the file is swapped and SIGHUP sent
#     again and again all succeed, each equal to eval on the model that
#     answered it (tests/serve/reload_load.py);
#   - --watch notices a replaced file by itself;
#   - SIGTERM with a request half-sent: new connections refused, that request
#     still answered, exit 0 (tests/serve/slow_term.py); SIGINT exits 0 too;
#   - SIGTERM with jobs still queued when the grace period runs out (the
#     test-only build's slow forward passes, --grace 1): they are answered 503,
#     the pass under way 200, exit 0 (tests/serve/stop_queued.py).
# Uses $BUILD/lenet, $BUILD/lenet-testhooks, python3, curl and MNIST; servers on free loopback ports,
# killed when the test exits. Ends with "N passed, M failed".
# shellcheck disable=SC2016
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/serve/serve.sh
. "$repo/tests/serve/serve.sh"
require_mnist "reloads"
command -v python3 >/dev/null 2>&1 && command -v curl >/dev/null 2>&1 ||
    { skip "python3 or curl not installed: reloads not tested"; finish; }
tally() { # FILE: count its ok/FAIL lines as checks
    cat "$1"
    passed=$((passed + $(grep -c '^ok:' "$1")))
    failed=$((failed + $(grep -c '^FAIL:' "$1")))
}

ckA=$(serve_train "$tmp/A")
ckB=$(serve_train "$tmp/B" --seed 2 --max-steps 200)
check "two checkpoints trained (A and B)" eval '[ -f "$ckA" ] && [ -f "$ckB" ]'
[ -f "$ckA" ] && [ -f "$ckB" ] || finish
shaA=$(sha256sum "$ckA" | cut -d" " -f1)
shaB=$(sha256sum "$ckB" | cut -d" " -f1)
data=$tmp/mnist
mnist_subset "$data" 0 200
img=$data/test/t10k-images-idx3-ubyte
"$lenet" eval --ckpt "$ckA" --data "$data" --per-image --threads 1 >"$tmp/wantA.jsonl"
"$lenet" eval --ckpt "$ckB" --data "$data" --per-image --threads 1 >"$tmp/wantB.jsonl"
put() { cp "$1" "$tmp/served.tmp" && mv -f "$tmp/served.tmp" "$tmp/served.ckpt"; } # atomic replace
status() { curl -s "${url}v1/models/lenet" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]])" "$1"; }
model_sha() { curl -s -D - -o /dev/null --data-binary "{\"instances\": [[$(printf '0,%.0s' $(seq 783))0]]}" \
    "${url}v1/models/lenet:predict" | tr -d '\r' | sed -n 's/^[Xx]-[Mm]odel-[Ss]ha256: //p'; }
wait_for() { # CMD...: retry for up to 10 s
    local i
    for i in $(seq 1 100); do "$@" && return 0; sleep 0.1; done
    return 1
}

# ------------------------------------------------------------- SIGHUP ---
put "$ckA"
serve_start --ckpt "$tmp/served.ckpt" --threads 2 || { fail "server did not start"; finish; }
check "serving A: status sha256 and X-Model-Sha256 are A's" eval '[ "$(status sha256)" = "$shaA" ] && [ "$(model_sha)" = "$shaA" ]'
put "$ckB"
kill -HUP "$spid"
check "SIGHUP after replacing the file with B: status turns to B, generation 2" \
    wait_for eval '[ "$(status sha256)" = "$shaB" ] && [ "$(status generation)" = 2 ]'
check "  ... answers come from B (X-Model-Sha256) and the log says so" \
    eval '[ "$(model_sha)" = "$shaB" ] && grep -q "reloaded .*generation 2" "$tmp/serve.err"'
printf 'this is not a checkpoint' >"$tmp/bad.tmp" && mv -f "$tmp/bad.tmp" "$tmp/served.ckpt"
kill -HUP "$spid"
check "SIGHUP on a corrupt file: refused and logged in one line naming the file" \
    wait_for grep -q "reload refused (SIGHUP): .*: $tmp/served.ckpt" "$tmp/serve.err"
check "  ... the status still shows B, generation 2, with the refusal as last_reload_error" \
    eval '[ "$(status sha256)" = "$shaB" ] && [ "$(status generation)" = 2 ] && status last_reload_error | grep -q served.ckpt'
check "  ... B keeps answering" test "$(model_sha)" = "$shaB"
check "  ... /metrics counts 1 reload ok and 1 failed" \
    eval 'curl -s "${url}metrics" | grep -q "^lenet_model_reloads_total{result=\"ok\"} 1$" &&
          curl -s "${url}metrics" | grep -q "^lenet_model_reloads_total{result=\"failed\"} 1$"'
: >"$tmp/truncated.ckpt"; head -c 1000 "$ckA" >"$tmp/truncated.ckpt"; put "$tmp/truncated.ckpt"
kill -HUP "$spid"
check "SIGHUP on a truncated checkpoint: refused, B still answers" \
    wait_for eval '[ "$(grep -c "refused" "$tmp/serve.err")" -eq 2 ] && [ "$(model_sha)" = "$shaB" ]'

# Reloads under load: swap A/B and SIGHUP every 0.15 s for as long as the 8
# clients send (3 s from their start, which a busy machine may delay by
# seconds: a fixed number of swaps could all land before the first request).
put "$ckA"
py reload_load.py "$url" "$img" 200 "$tmp/wantA.jsonl" "$shaA" "$tmp/wantB.jsonl" "$shaB" 3 >"$tmp/load.out" 2>&1 &
lpid=$!
i=0
while kill -0 "$lpid" 2>/dev/null; do
    sleep 0.15
    i=$((i + 1))
    if [ $((i % 2)) -eq 0 ]; then put "$ckA"; else put "$ckB"; fi
    kill -HUP "$spid"
done
wait "$lpid"
tally "$tmp/load.out"

# -------------------------------------------------------------- SIGTERM ---
py slow_term.py "$url" "$spid" "$img" >"$tmp/term.out" 2>&1
tally "$tmp/term.out"
serve_stop
check "SIGTERM: exit 0 after the request in flight was answered" test "$serve_rc" -eq 0

# ------------------------------------------ SIGTERM with jobs still queued ---
# The test-only build computes each forward pass in 1.5 s (one image each:
# --max-batch 1), and --grace 1 waits 1 s, not 30, after SIGTERM: 6
# requests, so jobs are still queued (one connection already closed by its
# client) when the grace period runs out (tests/serve/stop_queued.py).
check "the serve test hook is in lenet-testhooks only" \
    eval '! grep -qa LENET_TEST_SERVE_BATCH_MS "$lenet" && grep -qa LENET_TEST_SERVE_BATCH_MS "$bin/lenet-testhooks"'
LENET_TEST_SERVE_BATCH_MS=1500 lenet=$bin/lenet-testhooks \
    serve_start --ckpt "$ckA" --threads 2 --max-batch 1 --batch-window-us 0 --grace 1 ||
    { fail "server did not start"; finish; }
t0=$(date +%s)
py stop_queued.py "$url" "$spid" "$img" 6 >"$tmp/queued.out" 2>&1
tally "$tmp/queued.out"
serve_stop
check "SIGTERM with jobs queued past the grace period: exit 0, in seconds ($(($(date +%s) - t0)) s), 'stopped'" \
    eval '[ "$serve_rc" -eq 0 ] && [ $(($(date +%s) - t0)) -le 20 ] && grep -q "lenet serve: stopped" "$tmp/serve.err"'
check "  ... it said how many requests the grace period left in flight" \
    grep -q "requests still in flight after 1 s" "$tmp/serve.err"
check "  ... no crash report on stderr (libmicrohttpd panic, sanitizer)" \
    eval '! grep -Eq "Fatal error|AddressSanitizer|runtime error|LeakSanitizer" "$tmp/serve.err"'

# --------------------------------------------------------------- --watch ---
put "$ckA"
serve_start --ckpt "$tmp/served.ckpt" --watch --threads 1 || { fail "server did not start"; finish; }
put "$ckB"
check "--watch: a replaced file is loaded without a signal" wait_for eval '[ "$(status sha256)" = "$shaB" ]'
printf 'junk' >"$tmp/bad.tmp" && mv -f "$tmp/bad.tmp" "$tmp/served.ckpt"
check "--watch: a corrupt replacement is refused, B keeps answering" \
    wait_for eval 'grep -q "reload refused (--watch)" "$tmp/serve.err" && [ "$(model_sha)" = "$shaB" ]'
kill -INT "$spid"
for i in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
wait "$spid"
rc=$?
spid=
check "SIGINT: exit 0" test "$rc" -eq 0
finish
