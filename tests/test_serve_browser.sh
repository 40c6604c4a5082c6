#!/usr/bin/env bash
# tests/test_serve_browser.sh - the `lenet serve` page in a real browser:
# headless Chromium (Debian `chromium`) driven over the DevTools
# protocol by npm puppeteer-core (pinned in tests/serve/package-lock.json,
# installed there with `npm ci --ignore-scripts` when missing). Draws MNIST
# test digits of every class with mouse, pen and touch pointer events, chooses
# a PNG with the keyboard and drops a PGM, and checks each answer the page
# shows against `lenet predict` on the same picture (tests/serve/browser.js).
# Screenshots and the drawn pictures are kept in $BUILD/serve-browser/.
# Skipped (with a message) only without chromium or node/npm; a failed npm
# install is a failure. Ends with "N passed, M failed".
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/serve/serve.sh
. "$repo/tests/serve/serve.sh"
require_mnist "the page"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { skip "no $chromium (apt-get install chromium): the page not tested in a browser"; finish; }
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { skip "node/npm not installed: the page not tested in a browser"; finish; }
dir=$repo/tests/serve
if [ ! -d "$dir/node_modules/puppeteer-core" ]; then
    echo "   installing puppeteer-core into tests/serve (npm ci --ignore-scripts) ..."
    if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund >"$tmp/npm.log" 2>&1); then
        tail -5 "$tmp/npm.log"
        fail "npm ci --ignore-scripts in tests/serve failed (is the npm registry reachable?)"
        finish
    fi
fi

# 1,000 steps (about 97% on the test set): drawn digits should read as what they trace.
ck=$(serve_train "$tmp/ck" --max-steps 1000)
check "a 1,000-step training run wrote a checkpoint" test -f "$ck"
[ -f "$ck" ] || finish
serve_start --ckpt "$ck" --threads 2 || { fail "server did not start"; finish; }
out=$bin/serve-browser
rm -rf "$out"
mkdir -p "$out"
src_file t10k-images-idx3-ubyte >"$tmp/images"
src_file t10k-labels-idx1-ubyte >"$tmp/labels"
CHROMIUM=$chromium NODE_PATH=$dir/node_modules timeout 300 node "$dir/browser.js" "$url" "$lenet" "$ck" \
    "$tmp/images" "$tmp/labels" "$out" >"$tmp/browser.out" 2>&1
rc=$?
cat "$tmp/browser.out"
passed=$((passed + $(grep -c '^ok:' "$tmp/browser.out")))
failed=$((failed + $(grep -c '^FAIL:' "$tmp/browser.out")))
[ "$rc" -eq 0 ] || grep -q '^FAIL:' "$tmp/browser.out" || fail "browser.js exited $rc"
echo "   screenshots: $out/page-desktop.png, $out/page-phone.png"
serve_stop
check "the server exits 0 on SIGTERM" test "$serve_rc" -eq 0
finish
