#!/usr/bin/env bash
# tests/test_install.sh - `make install` into a temporary prefix, then the
# examples built from outside the tree with nothing but
# `pkg-config --cflags --libs lenet` (shared and static), run and checked
# against the installed `lenet`; `make uninstall` leaves no file of ours.
# Also DESTDIR. Never touches /usr/local.
#
# The library is installed from a plain (unsanitised) build: $BUILD when it
# is one, else build/ (under `make asan` the examples could not link against
# an AddressSanitizer library without its runtime).
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

make_tmp
cd "$tmp" || exit 1
for tool in pkg-config cc make readelf; do
    command -v "$tool" >/dev/null 2>&1 || { fail "$tool is not installed (scripts/deps.sh --test)"; finish; }
done

ibuild=$bin
if [ -x "$lenet" ] && readelf -s "$lenet" 2>/dev/null | grep -qE '__(asan|ubsan)_'; then ibuild=$repo/build; fi
# A make of our own: nothing from the make that runs this test (its
# variables reach us through the environment).
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u CC -u CFLAGS -u SANFLAGS -u OPT -u BUILD \
    make -C "$repo" --no-print-directory -j"$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)" BUILD="$ibuild" "$@"; }

prefix=$tmp/prefix
if mk install PREFIX="$prefix" >"$tmp/install.log" 2>&1; then
    pass "make install PREFIX=$prefix"
else
    fail "make install: $(tail -n 5 "$tmp/install.log" | tr '\n' '|')"
    finish
fi

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
version=$(pkg-config --modversion lenet 2>/dev/null)
major=${version%%.*}
check "pkg-config finds lenet $version" eval '[ -n "$version" ]'
check "lenet.pc: prefix is the install prefix" grep -qx "prefix=$prefix" "$prefix/lib/pkgconfig/lenet.pc"
check "installed: bin/lenet, liblenet.a, public headers" \
    eval '[ -x "$prefix/bin/lenet" ] && [ -f "$prefix/lib/liblenet.a" ] && [ -f "$prefix/include/lenet/model.h" ] &&
          [ -f "$prefix/include/lenet/version.h" ] && [ -f "$prefix/include/lenet/arch.h" ]'
check "liblenet.so -> liblenet.so.$major -> liblenet.so.$version" \
    eval '[ "$(readlink "$prefix/lib/liblenet.so")" = "liblenet.so.$major" ] &&
          [ "$(readlink "$prefix/lib/liblenet.so.$major")" = "liblenet.so.$version" ] &&
          [ -f "$prefix/lib/liblenet.so.$version" ] && [ ! -L "$prefix/lib/liblenet.so.$version" ]'
check "the shared library's soname is liblenet.so.$major" \
    eval 'readelf -d "$prefix/lib/liblenet.so.$version" | grep -q "SONAME.*\[liblenet.so.$major\]"'
check "lenet --version prints the version pkg-config reports" eval '[ "$("$prefix/bin/lenet" --version)" = "lenet $version" ]'

# Every public header compiles on its own with only pkg-config's flags.
bad=""
for h in "$prefix"/include/lenet/*.h; do
    printf '#include <lenet/%s>\n' "${h##*/}" | cc -std=c11 -Wall -Wextra -Werror -fsyntax-only \
        $(pkg-config --cflags lenet) -x c - 2>>"$tmp/headers.log" || bad="$bad ${h##*/}"
done
check "every installed header compiles alone (-std=c11 -Wall -Wextra -Werror)${bad:+; failed:$bad}" eval '[ -z "$bad" ]'

# The examples, copied out of the tree and built against the installed copy.
mkdir -p "$tmp/ex"
cp "$repo/examples/train_minimal.c" "$repo/examples/classify.c" "$tmp/ex/"
cd "$tmp/ex" || exit 1
static_libs=$(pkg-config --static --libs lenet | sed 's/-llenet/-Wl,-Bstatic -llenet -Wl,-Bdynamic/')
for ex in train_minimal classify; do
    # shellcheck disable=SC2046
    check "$ex: builds with \`pkg-config --cflags --libs lenet\` (shared)" \
        cc -std=c11 -Wall -Wextra -Werror -o "$ex" "$ex.c" $(pkg-config --cflags --libs lenet)
    # shellcheck disable=SC2086
    check "$ex: builds with \`pkg-config --static\` against liblenet.a" \
        cc -std=c11 -Wall -Wextra -Werror -o "$ex-static" "$ex.c" $(pkg-config --cflags lenet) $static_libs
done
export LD_LIBRARY_PATH=$prefix/lib
check "classify runs against the installed liblenet.so.$major" \
    eval 'ldd ./classify | grep -q "liblenet.so.$major => $prefix/lib/liblenet.so.$major"'
check "classify-static needs no liblenet.so" eval '! readelf -d ./classify-static | grep -q liblenet'

if [ ! -f "$mnist/train/train-images-idx3-ubyte" ] && [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
    skip "real MNIST not found at $mnist (make data): the examples are built, not run"
else
    data=$tmp/mnist
    mnist_subset "$data" 640 100
    # train_minimal: 20 steps through the library give the weights `lenet
    # train --max-steps 20` gives (same defaults), byte for byte.
    if ./train_minimal "$data" "$tmp/lib.ckpt" 20 >"$tmp/tm.out" 2>"$tmp/tm.err"; then
        pass "train_minimal trains 20 steps and saves a checkpoint"
    else
        fail "train_minimal: $(tr '\n' '|' <"$tmp/tm.err")"
    fi
    check "train_minimal prints the loss and the test accuracy" \
        eval 'grep -q "^epoch 1 step 20: loss [0-9.]*$" "$tmp/tm.out" && grep -q "^test accuracy 0\.[0-9]* ([0-9]*/100)$" "$tmp/tm.out"'
    "$prefix/bin/lenet" train --data "$data" --max-steps 20 --save-steps 20 --ckpt-dir "$tmp/cli" --progress off \
        --print-every 0 >"$tmp/cli.out" 2>&1
    cli_ckpt=$tmp/cli/checkpoint_lenet-1_20.ckpt
    "$prefix/bin/lenet" export --ckpt "$tmp/lib.ckpt" --format safetensors -o "$tmp/lib.st" >/dev/null 2>&1
    "$prefix/bin/lenet" export --ckpt "$cli_ckpt" --format safetensors -o "$tmp/cli.st" >/dev/null 2>&1
    check "train_minimal's weights equal lenet train's (safetensors exports identical)" \
        eval '[ -s "$tmp/lib.st" ] && cmp -s "$tmp/lib.st" "$tmp/cli.st"'
    acc=$("$prefix/bin/lenet" eval --ckpt "$tmp/lib.ckpt" --data "$data" --json |
        sed -n 's/.*"correct": \([0-9]*\), "total": \([0-9]*\).*/(\1\/\2)/p')
    check "train_minimal's accuracy is what lenet eval finds $acc" grep -q "^test accuracy .* $acc$" "$tmp/tm.out"

    # classify: MNIST test digits 0-7 as pictures - written by `lenet inspect
    # --png` (enlarged, framed, titled) and as plain 28x28 PGMs - classified
    # as `lenet predict` classifies them, by a model that has learned
    # something (most PGMs get their label), in both variants (classify
    # finds which).
    pngs=()
    labels=$(tail -c +9 "$data/test/t10k-labels-idx1-ubyte" | head -c 8 | od -An -tu1 | tr -d ' \n')
    for i in 0 1 2 3 4 5 6 7; do
        "$prefix/bin/lenet" inspect --data "$data" --split test --index "$i" --png "$tmp/d$i.png" >/dev/null 2>&1
        { printf 'P5\n28 28\n255\n'; tail -c +$((17 + i * 784)) "$data/test/t10k-images-idx3-ubyte" | head -c 784; } \
            >"$tmp/d$i.pgm"
        pngs+=("$tmp/d$i.png")
    done
    for i in 0 1 2 3 4 5 6 7; do pngs+=("$tmp/d$i.pgm"); done
    for cb in on off; do
        "$prefix/bin/lenet" train --data "$data" --epochs 8 --lr 0.03 --conv-bias $cb --save-steps 1000 \
            --ckpt-dir "$tmp/q$cb" --progress off --print-every 0 >/dev/null 2>&1
        q=$tmp/q$cb/checkpoint_lenet-8_20.ckpt
        "$prefix/bin/lenet" predict --ckpt "$q" "${pngs[@]}" 2>/dev/null | awk '{print $1, $2}' >"$tmp/want"
        ./classify "$q" "${pngs[@]}" >"$tmp/got" 2>"$tmp/cl.err"
        check "classify (conv bias $cb) gives the digits lenet predict gives ($(awk '{printf "%s", $2}' "$tmp/want"))" \
            eval '[ "$(wc -l <"$tmp/want")" -eq 16 ] && [ "$(awk "{print \$1, \$2}" "$tmp/got")" = "$(cat "$tmp/want")" ]'
        right=0
        for i in 0 1 2 3 4 5 6 7; do
            [ "$(sed -n "$((9 + i))p" "$tmp/got" | awk '{print $2}')" = "${labels:i:1}" ] && right=$((right + 1))
        done
        check "classify (conv bias $cb): $right of the 8 plain pictures get their label ($labels); at least 6" \
            eval '[ "$right" -ge 6 ]'
        ./classify-static "$q" "${pngs[@]}" >"$tmp/got-static" 2>/dev/null
        check "classify (static, conv bias $cb) prints the same" cmp -s "$tmp/got" "$tmp/got-static"
    done
    ./classify "$tmp/nothing.ckpt" "${pngs[0]}" >/dev/null 2>"$tmp/cl.err"
    rc=$?
    check "classify: a missing checkpoint is exit 1 with one line" \
        eval '[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/cl.err")" -eq 1 ]'
fi
cd "$tmp" || exit 1

if mk uninstall PREFIX="$prefix" >"$tmp/uninstall.log" 2>&1; then pass "make uninstall"; else fail "make uninstall"; fi
left=$(find "$prefix" ! -type d | head -n 5)
check "nothing of ours is left in the prefix${left:+: $left}" eval '[ -z "$left" ]'

# DESTDIR: the files go under it, lenet.pc names the real prefix.
mk install DESTDIR="$tmp/stage" PREFIX=/opt/lenet >"$tmp/install2.log" 2>&1
check "DESTDIR: installed under the staging folder, lenet.pc says prefix=/opt/lenet" \
    eval '[ -x "$tmp/stage/opt/lenet/bin/lenet" ] && grep -qx "prefix=/opt/lenet" "$tmp/stage/opt/lenet/lib/pkgconfig/lenet.pc"'
mk uninstall DESTDIR="$tmp/stage" PREFIX=/opt/lenet >>"$tmp/install2.log" 2>&1
left=$(find "$tmp/stage" ! -type d | head -n 5)
check "DESTDIR: uninstall removes it all${left:+: $left}" eval '[ -z "$left" ]'
finish
