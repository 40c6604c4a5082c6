# shellcheck shell=bash
# tests/serve/serve.sh - what the `lenet serve` shell tests share; source it
# right after tests/lib.sh. It ends the test (as a failure) if $lenet is not
# built, makes $tmp (make_tmp) and works there.
#
#   py NAME ARGS...             run tests/serve/NAME with python3 (at most 300 s)
#   serve_train DIR [ARGS...]   a short training run (300 steps of real MNIST
#                               unless ARGS say otherwise); prints the checkpoint
#   serve_start ARGS...         start `lenet serve --port 0 ARGS...` (output in
#                               $tmp/serve.out, $tmp/serve.err), wait for its URL
#                               (at most 20 s); sets $url and $spid; returns 1 if
#                               it did not come up
#   serve_stop                  SIGTERM the server, wait (at most 30 s, then
#                               SIGKILL); sets $serve_rc
# An EXIT trap kills a server still running and removes $tmp.

[ -x "$lenet" ] || { fail "$lenet not built"; finish; }
make_tmp
cd "$tmp" || exit 1
spid=
url=
serve_rc=
trap 'if [ -n "$spid" ]; then kill -KILL "$spid" 2>/dev/null; fi; rm -rf -- "$tmp"' EXIT

py() { timeout 300 python3 "$repo/tests/serve/$1" "${@:2}"; }

serve_train() {
    local dir=$1
    shift
    "$lenet" train --data "$mnist" --max-steps 300 --print-every 0 --threads 1 --ckpt-dir "$dir" "$@" \
        >"$dir.log" 2>&1 || return 1
    ls "$dir"/*.ckpt | tail -1
}

serve_start() {
    : >"$tmp/serve.out"
    "$lenet" serve --port 0 "$@" >"$tmp/serve.out" 2>"$tmp/serve.err" &
    spid=$!
    local i
    for i in $(seq 1 200); do
        url=$(grep -o 'http://[^ ]*/' "$tmp/serve.out" | head -1)
        [ -n "$url" ] && return 0
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    echo "   server did not start: $(head -c 400 "$tmp/serve.err")"
    return 1
}

serve_stop() {
    [ -n "$spid" ] || return 0
    kill -TERM "$spid" 2>/dev/null
    local i
    for i in $(seq 1 300); do
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$spid" 2>/dev/null
    wait "$spid"
    serve_rc=$?
    spid=
}
