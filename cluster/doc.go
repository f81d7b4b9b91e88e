// Package cluster spreads a search's evaluations over worker processes on
// any number of machines and devices through NATS JetStream.
//
// The search process runs a Coordinator: a pipeline.SearchEvaluator that,
// on a cache miss, splits the evaluation into two Jobs on the work-queue
// stream JobsStream, de-duplicated by cache key, kind and attempt (the
// message id): an accuracy job (KindAccuracy: build, score, size) on
// JobsAccuracy, which any worker without a device name takes, and a
// latency job (KindLatency: build, measure) on JobsLatency(name), which
// only the workers of that device name take (name "" when the config
// names none: the run's own device, served by workers without a device
// name). It collects the Replies on the results stream ResultsStream
// (subject Results(runID)), holds the first kind's Reply unacknowledged
// until the other's comes, combines the two into one evaluator.Result and
// files it in the run's bbolt cache, which it alone writes; Replies that
// arrive twice, or for a key already cached, are ignored. A Reply held
// for a key nobody waits for (its evaluation failed or timed out, or it
// was left by an earlier coordinator of the run) is kept, delivered again
// every few seconds, while a coordinator restarted in this one's place
// might still need it, that is for the jobs stream's duplicate window
// (cluster.job_timeout) after it came, then acknowledged and counted in
// Stats.Expired.
//
// Latency is keyed by the device that measures it: every cache key names
// a device fingerprint, the run's own device's, or, with cluster.device,
// the one the device's workers report (request on DeviceFingerprint(name))
// before the first evaluation. A latency job names that fingerprint; a
// worker whose device's differs rejects the job, and a latency Reply whose
// fingerprint does not match its key is rejected by the Coordinator, so a
// cached latency is never served for another device.
//
// A Worker pulls jobs (latency first), checks the job's teacher, data,
// settings and builder digests (and, for a latency job, device
// fingerprint) against its own run (rejecting a job that differs),
// evaluates it with its own in-memory cache (EvaluateAccuracy or
// EvaluateLatency), publishes the Reply and acknowledges the job; while
// evaluating it reports progress, so only a worker that died has its job
// delivered to another after the ack wait. Workers obtain the teacher and
// data from a shared path (Work: they open the same run config), or, with
// cluster.distribute: object_store, from the JetStream object store
// FilesBucket: the coordinator puts the run config's text, the teacher
// directory's files, the data files and the importance scores there
// (PublishFiles), each object named by its content's SHA-256, with a
// Manifest listing them; a worker (WorkFetched) downloads them into a
// private directory, refuses any whose content does not match the digest
// its name carries, and opens the run from them (FetchFiles). Either way
// jobs are checked against the worker's run.
//
// StartServer runs an embedded NATS server with JetStream (file storage
// under the run directory), on loopback unless told otherwise, with token
// or NKey authentication and TLS when configured; Connect connects to it
// or to an external cluster.
//
// Concurrency: a Coordinator's Evaluate, EvaluateFull and
// DeviceFingerprint may be called concurrently, and it handles Replies one
// at a time; a Worker's Run processes one job at a time (start several
// workers for more). This package holds the NATS dependencies, so the rest
// of edgenas builds without them.
package cluster
