#!/usr/bin/env bash
# tests/test_onnx.sh - the ONNX export run by other implementations:
#   1. ONNX Runtime (npm onnxruntime-node, pinned by tests/onnx/package-lock.json
#      and installed there with `npm ci --ignore-scripts` when missing) runs the
#      exported model on all 10,000 MNIST test images, preprocessed exactly as
#      our pipeline does ($BUILD/dump_logits writes them with our own logits):
#      the same predicted digit for every image and max |logit diff| <= 1e-4,
#      for both network variants (conv bias on and off);
#   2. onnx.checker.check_model (full check, with shape inference) where a
#      python3 with the onnx package is available (Debian python3-onnx).
# Skips (with a message) ONNX Runtime only if npm/node are absent, the
# checker only if no python3 has onnx. A failed npm install is a failure.
#
# Uses $BUILD/lenet and $BUILD/dump_logits (BUILD defaults to build) and MNIST
# in $MNIST_DIR (default datasets/MNIST_Data). Works in a temporary folder.
# Ends with "N passed, M failed"; exits non-zero if a check failed.

# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
ortdir=$repo/tests/onnx

for b in "$lenet" "$bin/dump_logits"; do
    [ -x "$b" ] || { fail "$b not built (make $b)"; finish; }
done
if [ ! -f "$mnist/test/t10k-images-idx3-ubyte" ] && [ ! -f "$mnist/t10k-images-idx3-ubyte" ]; then
    skip "MNIST not found in $mnist (make data): ONNX export not checked"
    finish
fi

make_tmp
cd "$tmp" || exit 1

# Two trained networks (300 steps: ~93% accuracy, so the argmax is meaningful).
for v in on off; do
    "$lenet" train --data "$mnist" --max-steps 300 --conv-bias $v --ckpt-dir "ck_$v" --print-every 300 \
        >"train_$v.log" 2>&1
    ck=$(ls "ck_$v"/*.ckpt 2>/dev/null | head -1)
    check "conv bias $v: a short training run wrote a checkpoint" test -f "$ck"
    [ -f "$ck" ] || finish
    cp "$ck" "$v.ckpt"
    "$lenet" export --ckpt "$v.ckpt" --format onnx -o "$v.onnx" >"export_$v.out" 2>&1
    check "conv bias $v: lenet export --format onnx exits 0 and names the variant" \
        eval '[ -s "$v.onnx" ] && grep -q "conv bias $v" "export_$v.out"'
    "$bin/dump_logits" "$v.ckpt" "$mnist" "$v.dump"
    check "conv bias $v: our logits for the 10,000 test images dumped" test -s "$v.dump"
done

# ------------------------------------------------------------ onnx.checker ---
py=
for cand in /usr/bin/python3 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import onnx' 2>/dev/null; then py=$cand; break; fi
done
if [ -z "$py" ]; then
    skip "no python3 with the onnx package (apt-get install python3-onnx): onnx.checker not run"
else
    for v in on off; do
        out=$("$py" -c '
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
g = m.graph
print(m.ir_version, [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0],
      " ".join(n.op_type for n in g.node), g.input[0].name, g.output[0].name,
      g.input[0].type.tensor_type.shape.dim[0].dim_param, len(g.initializer))
' "$v.onnx" 2>&1)
        echo "   onnx $($py -c 'import onnx; print(onnx.__version__)'): $out"
        nodes="Conv Relu MaxPool Conv Relu MaxPool Flatten Gemm Relu Gemm Relu Gemm"
        init=$([ $v = on ] && echo 10 || echo 8)
        check "conv bias $v: onnx.checker.check_model(full_check=True) passes; ir 7, opset 13, graph as designed" \
            test "$out" = "7 13 $nodes input logits N $init"
    done
fi

# ------------------------------------------------------------ ONNX Runtime ---
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    skip "npm/node not installed (apt-get install npm): ONNX Runtime not run"
    finish
fi
if [ ! -d "$ortdir/node_modules/onnxruntime-node" ]; then
    echo "   installing onnxruntime-node into tests/onnx (npm ci --ignore-scripts) ..."
    if ! (cd "$ortdir" && npm ci --ignore-scripts --no-audit --no-fund >"$tmp/npm.log" 2>&1); then
        tail -5 "$tmp/npm.log"
        fail "npm ci --ignore-scripts in tests/onnx failed (is the npm registry reachable?)"
        finish
    fi
fi
for v in on off; do
    NODE_PATH=$ortdir/node_modules node "$ortdir/run_ort.js" "$v.onnx" "$v.dump" >"ort_$v.json" 2>"ort_$v.err"
    rc=$?
    echo "   conv bias $v: $(cat "ort_$v.json" "ort_$v.err")"
    check "conv bias $v: ONNX Runtime loads and runs the model" test "$rc" -eq 0
    [ "$rc" -eq 0 ] || continue
    # Judge the summary with node (no other JSON parser is assumed).
    jget() { node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(eval(process.argv[2]))' "ort_$v.json" "$1"; }
    check "conv bias $v: input \"input\", output \"logits\" [N, 10] for batches of 1, 7 and 1000" \
        test "$(jget 'd.input_names+"/"+d.output_names+"/"+d.output_dims_ok')" = "input/logits/true"
    check "conv bias $v: all 10,000 images run" test "$(jget d.images)" = 10000
    check "conv bias $v: same predicted digit as ours for every image ($(jget d.mismatches) differ)" \
        test "$(jget d.mismatches)" = 0
    check "conv bias $v: max |logit difference| $(jget d.max_abs_diff) <= 1e-4" \
        test "$(jget 'd.max_abs_diff <= 1e-4')" = true
    check "conv bias $v: same accuracy ($(jget d.ort_correct)/10000) and it is a trained network (> 80%)" \
        test "$(jget 'd.ort_correct === d.ours_correct && d.ort_correct > 8000')" = true
done
finish
