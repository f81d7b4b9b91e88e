// worker.cjs is the ONNX Runtime worker of the ort device (package
// devices/ort embeds it and writes it to the device's temporary directory):
// node worker.cjs, with NODE_PATH holding the npm package onnxruntime-node.
//
// It speaks line-delimited JSON: one line on stdout when it is ready,
// {"ready": true, "ort_version": V, "node_version": N}, then one reply line
// for each request line read from stdin, in order, one at a time:
//
//   {"id": I, "model": PATH, "batch": B, "seq_len": S, "threads": T,
//    "warmup": W, "runs": R, "ids": [...], "outputs": [...]}
//   -> {"id": I, "samples_ns": [R durations in ns]} or {"id": I, "error": MSG}
//
// ids holds the B×S token ids (row-major); the mask is all ones and the
// token types all zeros. The session runs on T intra-op threads, one
// inter-op thread, sequential execution and every graph optimization; W
// untimed runs come first, then R runs each timed with
// process.hrtime.bigint. A failure to load onnxruntime-node is written to
// stderr and the worker exits with status 3.
'use strict';
const readline = require('readline');

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  process.stderr.write('cannot load onnxruntime-node (NODE_PATH=' + (process.env.NODE_PATH || '') + '): ' + (e && e.message ? e.message : e) + '\n');
  process.exit(3);
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function positive(req, k, min) {
  const v = req[k];
  if (!Number.isInteger(v) || v < min) throw new Error(`"${k}" is ${JSON.stringify(v)}, want an integer ≥ ${min}`);
  return v;
}

async function measure(req) {
  const batch = positive(req, 'batch', 1);
  const seq = positive(req, 'seq_len', 1);
  const threads = positive(req, 'threads', 1);
  const warmup = positive(req, 'warmup', 0);
  const runs = positive(req, 'runs', 1);
  if (!Array.isArray(req.ids) || req.ids.length !== batch * seq) throw new Error(`"ids" holds ${Array.isArray(req.ids) ? req.ids.length : 'no'} ids, want batch×seq_len = ${batch * seq}`);
  if (!Array.isArray(req.outputs) || req.outputs.length === 0) throw new Error('"outputs" is empty');
  const session = await ort.InferenceSession.create(req.model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  try {
    const dims = [batch, seq];
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(req.ids, (v) => BigInt(v)), dims),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * seq).fill(1n), dims),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(batch * seq), dims),
    };
    for (let i = 0; i < warmup; i++) await session.run(feeds, req.outputs);
    const samples = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds, req.outputs);
      samples.push(Number(process.hrtime.bigint() - t0));
    }
    return samples;
  } finally {
    await session.release();
  }
}

async function main() {
  reply({ ready: true, ort_version: require('onnxruntime-node/package.json').version, node_version: process.version });
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let id = null;
    try {
      const req = JSON.parse(line);
      id = req.id;
      reply({ id, samples_ns: await measure(req) });
    } catch (e) {
      reply({ id, error: String(e && e.message ? e.message : e) });
    }
  }
}

main().catch((e) => {
  process.stderr.write('ort worker: ' + (e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
