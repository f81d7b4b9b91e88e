// Package pipeline is one edgenas run as a library: a validated run config
// (LoadConfig: every problem at once, each with its line, before any
// expensive work), the teacher (loaded, or trained from scratch on
// demand), the scoring and calibration data, the importance scores, the
// search space, the device, the candidate cache and the evaluators (Open),
// the search with the front rescored on every example and saved after
// each member (Run.Search), the single-technique baselines (Run.Baselines),
// and a finished or interrupted run read back (LoadFront). The CLI, the
// report, the export, the remote agent and cluster workers all use it.
//
// A Run is set up once by Open and then only read, except for its
// evaluators, which are created on first use under a lock; evaluations
// may run concurrently. Close releases the cache file, which bbolt locks
// to one process.
//
// The run directory holds cache.db (every evaluation and the search's
// resumable state), importance.json, run.json (the run's identity) and
// front.json (the last front and its rescoring).
package pipeline
