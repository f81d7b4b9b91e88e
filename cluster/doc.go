// Package cluster spreads a search's evaluations over worker processes on
// any number of machines and devices through NATS JetStream.
//
// The search process runs a Coordinator: a pipeline.SearchEvaluator that,
// on a cache miss, publishes an evaluation Job to the work-queue stream
// JobsStream (subject JobsAny, or JobsDevice(name) when the config routes
// evaluations to a device), de-duplicated by its cache key (the message
// id), and waits for the Reply a worker publishes on the results stream
// ResultsStream (subject Results(runID)). The Coordinator alone writes the
// run's bbolt cache; Results that arrive late, twice, or for a key already
// cached are ignored. A Worker pulls jobs, checks the job's teacher, data,
// settings and builder digests against its own run (rejecting a job that
// differs), evaluates it with its own in-memory cache, publishes the
// Reply and acknowledges the job; while evaluating it reports progress, so
// only a worker that died has its job delivered to another after the ack
// wait. Workers obtain the teacher and data from a shared path (Work: they
// open the same run config), or, with cluster.distribute: object_store,
// from the JetStream object store FilesBucket: the coordinator puts the
// run config's text, the teacher directory's files, the data files and the
// importance scores there (PublishFiles), each object named by its
// content's SHA-256, with a Manifest listing them; a worker (WorkFetched)
// downloads them into a private directory, refuses any whose content does
// not match the digest its name carries, and opens the run from them
// (FetchFiles). Either way jobs are checked against the worker's run.
//
// StartServer runs an embedded NATS server with JetStream (file storage
// under the run directory), on loopback unless told otherwise, with token
// or NKey authentication and TLS when configured; Connect connects to it
// or to an external cluster.
//
// Concurrency: a Coordinator's Evaluate and EvaluateFull may be called
// concurrently; a Worker's Run processes one job at a time (start several
// workers for more). This package holds the NATS dependencies, so the rest
// of edgenas builds without them.
package cluster
