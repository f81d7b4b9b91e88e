// ort-eval.cjs runs exported model.onnx files in ONNX Runtime (the npm
// package onnxruntime-node, found through NODE_PATH) for
// TestExportMatchesONNXRuntime: node ort-eval.cjs JOB.json RESULT.json.
//
// JOB.json: {"examples": [{"input_ids": [...], "attention_mask": [...],
// "token_type_ids": [...]}, ...], "warmup": N, "runs": N, "models":
// [{"key": K, "path": "…/model.onnx", "seq_len": S}, ...]}. Each example
// runs alone (batch 1). RESULT.json: [{"key": K, "predictions": [...],
// "latency_median_ms": M}, ...], the latency the median of "runs" timed
// runs (after "warmup" untimed ones) of one batch-1 input of seq_len
// tokens, on one thread.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const names = ['input_ids', 'attention_mask', 'token_type_ids'];

function feeds(ex) {
  const n = ex.input_ids.length;
  const f = {};
  for (const k of names) {
    f[k] = new ort.Tensor('int64', BigInt64Array.from(ex[k], (v) => BigInt(v)), [1, n]);
  }
  return f;
}

function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

async function main() {
  const [jobPath, outPath] = process.argv.slice(2);
  if (!jobPath || !outPath) throw new Error('usage: node ort-eval.cjs JOB.json RESULT.json');
  const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
  const results = [];
  for (const m of job.models) {
    const s = await ort.InferenceSession.create(m.path, {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const predictions = [];
    for (const ex of job.examples) {
      const out = await s.run(feeds(ex), ['logits']);
      predictions.push(argmax(out.logits.data));
    }
    const ids = new Array(m.seq_len).fill(0).map((_, i) => job.examples[0].input_ids[i % job.examples[0].input_ids.length]);
    const timed = feeds({ input_ids: ids, attention_mask: ids.map(() => 1), token_type_ids: ids.map(() => 0) });
    for (let i = 0; i < job.warmup; i++) await s.run(timed, ['logits']);
    const times = [];
    for (let i = 0; i < job.runs; i++) {
      const t0 = process.hrtime.bigint();
      await s.run(timed, ['logits']);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const mid = times.length >> 1;
    const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
    results.push({ key: m.key, predictions, latency_median_ms: median });
  }
  fs.writeFileSync(outPath, JSON.stringify(results));
}

main().catch((e) => {
  console.error('ort-eval: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
