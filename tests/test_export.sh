#!/usr/bin/env bash
# tests/test_export.sh - `lenet export` from the command line: usage errors
# (exit 2, one line naming the option or file), an unwritable output (exit 1),
# safetensors read back by an independent reader (Python json + numpy, which
# also parses the MindSpore checkpoint itself) with every tensor compared bit
# for bit, and `--format mindspore` giving a checkpoint that `lenet eval`
# scores exactly like the original.
#
# Uses $BUILD/lenet (BUILD defaults to build) and MNIST in $MNIST_DIR (default
# datasets/MNIST_Data; without it the checks on a trained checkpoint are
# skipped). The safetensors reader needs a python3 with numpy (Debian
# python3-numpy); without it those checks are skipped with a message. Works
# in a temporary folder. Ends with "N passed, M failed"; exit non-zero if a
# check failed.

# shellcheck disable=SC2016,SC2034
set -u

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

if [ ! -x "$lenet" ]; then
    fail "$lenet not built (make $BUILD/lenet)"
    finish
fi

make_tmp
cd "$tmp" || exit 1

# ------------------------------------------------------------- usage ---
run export --help
check "export --help: exit 0, usage on stdout" eval '[ "$rc" -eq 0 ] && grep -q "usage: lenet export" "$tmp/out" && [ ! -s "$tmp/err" ]'
expect_error "export without --ckpt: exit 2" 2 "--ckpt" -- export --format onnx -o x.onnx
expect_error "export without --format: exit 2" 2 "--format" -- export --ckpt x.ckpt -o x.onnx
expect_error "export without -o: exit 2" 2 "-o" -- export --ckpt x.ckpt --format onnx
expect_error "export --format tflite: exit 2, names it" 2 "--format" "tflite" -- export --ckpt x.ckpt --format tflite -o x
expect_error "export --crc with onnx: exit 2" 2 "--crc" -- export --ckpt x.ckpt --format onnx --crc -o x
expect_error "export --bogus: exit 2" 2 "bogus" -- export --bogus
expect_error "export of a missing checkpoint: exit 2, names the file" 2 "nope.ckpt" -- \
    export --ckpt nope.ckpt --format onnx -o x.onnx
printf '\x0a\x22\x0a\x0d' >trunc.ckpt
expect_error "export of a truncated checkpoint: exit 2, names the file" 2 "trunc.ckpt" -- \
    export --ckpt trunc.ckpt --format safetensors -o x.safetensors
check "no output left behind by failed exports" eval '[ ! -e x.onnx ] && [ ! -e x.safetensors ] && [ ! -e x ]'

if [ ! -f "$mnist/train/train-images-idx3-ubyte" ] && [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
    skip "MNIST not found in $mnist (make data): checks on a trained checkpoint"
    finish
fi

# A small trained checkpoint (with optimizer state), as `lenet train` writes it.
"$lenet" train --data "$mnist" --max-steps 5 --ckpt-dir ck --print-every 5 >train.log 2>&1
ckpt=$(ls ck/*.ckpt 2>/dev/null | head -1)
check "a short training run wrote a checkpoint" test -f "$ckpt"
[ -f "$ckpt" ] || finish

expect_error "export -o into a missing folder: exit 1, names the path" 1 "missing-dir/" -- \
    export --ckpt "$ckpt" --format onnx -o missing-dir/m.onnx
mkdir adir
expect_error "export -o a folder: exit 2" 2 "adir" -- export --ckpt "$ckpt" --format onnx -o adir

# ------------------------------------------------------------ mindspore ---
run export --ckpt "$ckpt" --format mindspore -o copy.ckpt
check "export --format mindspore: exit 0, says the optimizer state is kept" \
    eval '[ "$rc" -eq 0 ] && grep -q "optimizer state kept" "$tmp/out"'
check "a checkpoint written by lenet converts to identical bytes" cmp -s "$ckpt" copy.ckpt
run export --ckpt "$ckpt" --format mindspore --crc -o crc.ckpt
check "--crc appends MindSpore 2.3's 17-byte trailer" \
    eval '[ "$rc" -eq 0 ] && [ $(( $(stat -c %s crc.ckpt) - $(stat -c %s "$ckpt") )) -eq 17 ] && tail -c 17 crc.ckpt | head -c 7 | grep -q crc_num'
"$lenet" eval --data "$mnist" --ckpt "$ckpt" --json >eval_a.json 2>/dev/null
"$lenet" eval --data "$mnist" --ckpt crc.ckpt --json >eval_b.json 2>/dev/null
check "lenet eval scores the converted checkpoint exactly like the original" \
    eval '[ -s eval_a.json ] && cmp -s eval_a.json eval_b.json'
check "no temporary files left next to the outputs" eval '! ls ./*.tmp.* >/dev/null 2>&1'

# ---------------------------------------------------------- safetensors ---
run export --ckpt "$ckpt" --format safetensors -o m.safetensors --json
check "export --format safetensors --json: exit 0, one JSON line" \
    eval '[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] && grep -q "\"format\": \"safetensors\"" "$tmp/out" &&
          grep -q "\"params\": 61706" "$tmp/out"'

py=
for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import json, numpy' 2>/dev/null; then py=$cand; break; fi
done
if [ -z "$py" ]; then
    skip "no python3 with numpy (apt-get install python3-numpy): safetensors not read back independently"
    finish
fi

# An independent reader: the safetensors spec, and the .ckpt protobuf parsed
# here from scratch. Prints "ok: ..." / "FAIL: ..." lines.
cat >read_st.py <<'PY'
import json, struct, sys
import numpy as np

def say(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)

def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if c < 0x80: return v, i

def fields(b):
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i); out.append((num, v))
        elif wire == 2:
            n, i = varint(b, i); out.append((num, b[i:i + n])); i += n
        else:
            raise ValueError("wire type %d" % wire)
    return out

def read_ckpt(path):
    b = open(path, "rb").read()
    b = b[:b.index(b"crc_num")] if b"crc_num" in b else b
    tensors = {}
    for _, value in fields(b):                      # Checkpoint.value (1)
        f = dict((n, v) for n, v in fields(value) if n != 2)
        tensor = [v for n, v in fields(value) if n == 2][0]
        tf = fields(tensor)
        dims = [v for n, v in tf if n == 1]
        dtype = [v for n, v in tf if n == 2][0].decode()
        content = [v for n, v in tf if n == 3][0]
        tensors[f[1].decode()] = (dtype, dims, content)
    return tensors

st_path, ck_path = sys.argv[1], sys.argv[2]
st = open(st_path, "rb").read()
n = struct.unpack("<Q", st[:8])[0]
say(n % 8 == 0 and 8 + n <= len(st), "safetensors: header length %d is a multiple of 8" % n)
header = json.loads(st[8:8 + n].decode("utf-8"))
meta = header.pop("__metadata__", {})
say(all(isinstance(v, str) for v in meta.values()) and meta.get("format") == "pt",
    "safetensors: __metadata__ holds strings, format pt")
data = st[8 + n:]
spans = sorted(tuple(v["data_offsets"]) for v in header.values())
pos, contiguous = 0, True
for a, b in spans:
    contiguous = contiguous and a == pos and b >= a
    pos = b
say(contiguous and pos == len(data), "safetensors: data offsets tile the data section exactly")
say(all(v["dtype"] == "F32" for v in header.values()), "safetensors: every dtype is F32")
ck = read_ckpt(ck_path)
net = [k for k in ck if not k.startswith(("moments.", "train.", "learning_rate_group_")) and k not in ("learning_rate", "momentum", "global_step")]
say(list(header) == net, "safetensors: the checkpoint's network tensors, same names, same order: %s" % ", ".join(net))
bad = []
for name, v in header.items():
    a, b = v["data_offsets"]
    arr = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"])
    dtype, dims, content = ck[name]
    ref = np.frombuffer(content, dtype="<f4").reshape(dims)
    if dtype != "Float32" or arr.shape != ref.shape or arr.tobytes() != ref.tobytes():
        bad.append(name)
say(not bad and len(header) > 0, "safetensors: %d tensors equal the checkpoint's bit for bit%s"
    % (len(header), " (differ: %s)" % bad if bad else ""))
say(sum(int(np.prod(v["shape"])) for v in header.values()) == int(sys.argv[3]),
    "safetensors: %s parameters" % sys.argv[3])
PY

st_check() { # $1 safetensors, $2 ckpt, $3 parameter count
    "$py" read_st.py "$1" "$2" "$3" >st.out 2>&1
    local p f
    p=$(grep -c '^ok:' st.out)
    f=$(grep -c '^FAIL:' st.out)
    cat st.out
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$p" -eq 0 ] || [ "$f" -gt 0 ] || grep -q Traceback st.out; then
        [ "$f" -gt 0 ] || fail "safetensors reader crashed on $1"
    fi
}
st_check m.safetensors "$ckpt" 61706

# The variant without conv biases.
"$lenet" train --data "$mnist" --max-steps 5 --conv-bias off --ckpt-dir ck_off --print-every 5 >train_off.log 2>&1
ckpt_off=$(ls ck_off/*.ckpt 2>/dev/null | head -1)
run export --ckpt "$ckpt_off" --format safetensors -o off.safetensors
check "export of a conv-bias-off checkpoint: exit 0, says conv bias off" \
    eval '[ "$rc" -eq 0 ] && grep -q "conv bias off, 61684 parameters" "$tmp/out"'
st_check off.safetensors "$ckpt_off" 61684

finish
