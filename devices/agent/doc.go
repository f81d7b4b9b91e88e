// Package agent measures latency on a remote edge device over HTTP: the
// Server runs there (edgenas agent) and measures students with the local
// device's protocol (warm-up, timed runs, median and spread, re-measure
// when unstable, drift reference); the Client is a devices.Device that
// sends it students from the search machine.
//
// The wire protocol (all under /v1, JSON answers, errors as
// {"error": "...", "code": "..."}):
//
//   - GET /v1/health: 200 {"status": "ok"}, no token needed.
//   - GET /v1/info: the device's Info (its fingerprint, CPU, cores,
//     frequencies, governors and temperatures where readable, OS,
//     architecture, kernels, engine and edgenas versions).
//   - POST /v1/measure: a multipart/form-data body with the parts
//     "workload" (a devices.Workload as JSON), "config" (the student's
//     config.json) and "weights" (its model.safetensors), each once, in
//     any order; the answer is a devices.Measurement as JSON.
//
// Every request but health carries "Authorization: Bearer TOKEN"; the
// server compares SHA-256 digests of the presented and the expected token
// in constant time, so neither a token's content nor its length shows in
// how long a refusal takes. Bad input is a 4xx with a message: 400
// malformed, 401 token, 413 body over the limit, 422 a model or workload
// that does not validate; 503 when the measurement queue is full, 500
// otherwise.
//
// A Server measures one student at a time; up to its queue bound more
// wait, and the next is refused with 503 at once. It reads and writes
// files only in a temporary directory of its own per request, removed
// when the request ends, under names it chooses: it never takes a path
// from a client. A Server is safe for concurrent use.
//
// A Client serializes its measurements (a remote device does not measure
// alone from the search machine's point of view: it does not implement
// devices.Exclusive as true), brackets each with devices.StartMeasure
// from sending the request to reading the answer, retries a device that
// is unavailable (connection refused or broken, timeout, 503) with
// backoff up to a bound and then returns an error wrapping
// devices.ErrUnavailable. A Client is safe for concurrent use.
package agent
