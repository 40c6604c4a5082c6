// bench/onnx_serve.js MODEL.onnx PORT - the path a user would otherwise take:
// the exported ONNX model (`lenet export --format onnx`) in onnxruntime-node
// behind Node's http module, answering the same API as `lenet serve`:
// POST /v1/models/lenet:predict {"instances": [28x28 or 784 grey levels]}
// -> {"predictions": [{"digit", "probabilities"}]}. Each image is resized
// 28->32 (bilinear, half-pixel centres, as cv2.resize INTER_LINEAR) and
// normalised as in training before the model runs (bench/serve.sh).
'use strict';
const http = require('http');
const ort = require('onnxruntime-node');
const [model, port] = process.argv.slice(2);
function prepare(px, out, o) { // 28x28 grey levels -> normalised 32x32 floats at out[o..]
  for (let y = 0; y < 32; y++) {
    const fy = Math.min(Math.max((y + 0.5) * 28 / 32 - 0.5, 0), 27), y0 = Math.floor(fy), y1 = Math.min(y0 + 1, 27), wy = fy - y0;
    for (let x = 0; x < 32; x++) {
      const fx = Math.min(Math.max((x + 0.5) * 28 / 32 - 0.5, 0), 27), x0 = Math.floor(fx), x1 = Math.min(x0 + 1, 27), wx = fx - x0;
      const v = (px[y0 * 28 + x0] * (1 - wx) + px[y0 * 28 + x1] * wx) * (1 - wy) + (px[y1 * 28 + x0] * (1 - wx) + px[y1 * 28 + x1] * wx) * wy;
      out[o + y * 32 + x] = (Math.round(v) / 255 - 0.1307) / 0.3081;
    }
  }
}
ort.InferenceSession.create(model, { intraOpNumThreads: 1 }).then((session) => {
  http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        if (req.method !== 'POST' || req.url !== '/v1/models/lenet:predict') throw new Error('not found');
        const inst = JSON.parse(Buffer.concat(chunks)).instances, n = inst.length, x = new Float32Array(n * 1024);
        inst.forEach((im, i) => prepare(im.flat(), x, i * 1024));
        const z = (await session.run({ input: new ort.Tensor('float32', x, [n, 1, 32, 32]) })).logits.data;
        const predictions = [];
        for (let i = 0; i < n; i++) {
          const l = Array.from(z.subarray(i * 10, i * 10 + 10)), m = Math.max(...l), e = l.map((v) => Math.exp(v - m));
          const s = e.reduce((a, b) => a + b), p = e.map((v) => v / s);
          predictions.push({ digit: p.indexOf(Math.max(...p)), probabilities: p });
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ predictions }));
      } catch (e) {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: String(e.message) }));
      }
    });
  }).listen(Number(port), '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + port + '/'));
});
