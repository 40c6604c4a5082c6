// run_ort.js MODEL.onnx DUMP.bin - run an exported LeNet-5 in ONNX Runtime on
// every image of a dump written by build/dump_logits, and compare with the
// logits our own forward pass produced. Prints one JSON object:
//   {"images", "batches", "input_names", "output_names", "output_dims_ok",
//    "mismatches" (argmax differs), "max_abs_diff", "ort_correct", "ours_correct"}
// Exit 0 when it ran (the shell test judges the numbers), 1 on an error.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, dumpPath] = process.argv.slice(2);
  const raw = fs.readFileSync(dumpPath);
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength); // 4-byte aligned copy
  if (raw.toString('latin1', 0, 8) !== 'LNDUMP01') throw new Error(`${dumpPath}: not a dump`);
  const n = new Uint32Array(buf, 8, 1)[0];
  let off = 16;
  const labels = new Int32Array(buf, off, n); off += 4 * n;
  const images = new Float32Array(buf, off, n * 1024); off += 4 * n * 1024;
  const ours = new Float32Array(buf, off, n * 10); off += 4 * n * 10;
  if (off !== buf.byteLength) throw new Error(`${dumpPath}: size ${buf.byteLength}, expected ${off}`);

  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2 });
  const argmax = (a, base) => { let k = 0; for (let j = 1; j < 10; j++) if (a[base + j] > a[base + k]) k = j; return k; };
  // Uneven batch sizes exercise the dynamic batch dimension "N".
  const sizes = [1, 7, 1000];
  let first = 0, batches = 0, mismatches = 0, maxDiff = 0, ortCorrect = 0, oursCorrect = 0, dimsOk = true;
  for (let b = 0; first < n; b++) {
    const rows = Math.min(sizes[Math.min(b, sizes.length - 1)], n - first);
    const x = new ort.Tensor('float32', images.subarray(first * 1024, (first + rows) * 1024), [rows, 1, 32, 32]);
    const out = (await session.run({ input: x })).logits;
    if (out.dims.length !== 2 || out.dims[0] !== rows || out.dims[1] !== 10) dimsOk = false;
    const y = out.data;
    for (let i = 0; i < rows; i++) {
      const r = first + i;
      for (let j = 0; j < 10; j++) maxDiff = Math.max(maxDiff, Math.abs(y[i * 10 + j] - ours[r * 10 + j]));
      const po = argmax(y, i * 10), pu = argmax(ours, r * 10);
      if (po !== pu) mismatches++;
      if (po === labels[r]) ortCorrect++;
      if (pu === labels[r]) oursCorrect++;
    }
    first += rows;
    batches++;
  }
  console.log(JSON.stringify({
    images: n, batches, input_names: session.inputNames, output_names: session.outputNames,
    output_dims_ok: dimsOk, mismatches, max_abs_diff: maxDiff, ort_correct: ortCorrect, ours_correct: oursCorrect,
  }));
}

main().catch((e) => { console.error(`run_ort.js: ${e.message}`); process.exit(1); });
