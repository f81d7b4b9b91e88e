// ort-eval.cjs runs exported model.onnx files in ONNX Runtime (the npm
// package onnxruntime-node, found through NODE_PATH) for
// TestExportMatchesONNXRuntime: node ort-eval.cjs JOB.json RESULT.json.
//
// JOB.json: {"examples": [{"input_ids": [...], "attention_mask": [...],
// "token_type_ids": [...]}, ...], "warmup": W, "rounds": R, "calls": C,
// "models": [{"key": K, "path": "…/model.onnx", "seq_len": S}, ...]}.
// Each example runs alone (batch 1); its prediction is the argmax of
// "logits". RESULT.json: [{"key": K, "predictions": [...],
// "latency_median_ms": M}, ...] in the order of "models".
//
// Latency: one session per model on one thread (intraOpNumThreads and
// interOpNumThreads 1), run on one batch-1 input of seq_len tokens. After W
// untimed warm-up calls per model, R rounds each time C consecutive calls
// of every model in turn; a round's time for a model is the mean of its C
// calls, and M is the median over the R rounds. Interleaving the models
// round by round spreads a slow spell of a shared machine over all of them
// instead of over the one that happened to be measured then.
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

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main() {
  const [jobPath, outPath] = process.argv.slice(2);
  if (!jobPath || !outPath) throw new Error('usage: node ort-eval.cjs JOB.json RESULT.json');
  const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
  for (const k of ['warmup', 'rounds', 'calls']) {
    if (!Number.isInteger(job[k]) || job[k] < (k === 'warmup' ? 0 : 1)) throw new Error(`${jobPath}: "${k}" is ${job[k]}, want a positive integer`);
  }
  const first = job.examples[0].input_ids;
  const models = [];
  for (const m of job.models) {
    const session = await ort.InferenceSession.create(m.path, {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const predictions = [];
    for (const ex of job.examples) {
      const out = await session.run(feeds(ex), ['logits']);
      predictions.push(argmax(out.logits.data));
    }
    const ids = Array.from({ length: m.seq_len }, (_, i) => first[i % first.length]);
    const timed = feeds({ input_ids: ids, attention_mask: ids.map(() => 1), token_type_ids: ids.map(() => 0) });
    for (let i = 0; i < job.warmup; i++) await session.run(timed, ['logits']);
    models.push({ key: m.key, session, timed, predictions, rounds: [] });
  }
  for (let r = 0; r < job.rounds; r++) {
    for (const m of models) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < job.calls; i++) await m.session.run(m.timed, ['logits']);
      m.rounds.push(Number(process.hrtime.bigint() - t0) / 1e6 / job.calls);
    }
  }
  fs.writeFileSync(outPath, JSON.stringify(models.map((m) => ({ key: m.key, predictions: m.predictions, latency_median_ms: median(m.rounds) }))));
}

main().catch((e) => {
  console.error('ort-eval: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
