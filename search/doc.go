// Package search finds the Pareto front of compressed students: it
// evolves space.Arch genomes, sends each new one to an Evaluator, scores
// the Results with a MnasNet-style reward, keeps every evaluated candidate
// in a Pareto archive over (accuracy ↑, latency ↓, size ↓), and records
// the front's hypervolume after every generation.
//
// # What it owns
//
//   - Config (the `search:` YAML section): strategy, population, rates,
//     Budget, RewardConfig, Reference; the zero value means the defaults,
//     Validate lists every problem.
//   - The reward (RewardConfig.Score): accuracy × (latency/target)^w ×
//     (size/target)^w with soft or hard exponents per objective, and hard
//     constraints that make a candidate infeasible.
//   - Archive and Hypervolume: the exact feasible front (ties and
//     duplicate keys handled) and the exact 3-D hypervolume; the
//     noise-aware front (Archive.NoiseFront, NoiseDominates, LatencyTied:
//     latencies within the measured spread or FrontConfig.LatencyEpsilon
//     are tied), reported by default with both hypervolumes.
//   - The strategies: "ga" (eaopt's generational model with tournament
//     selection over a genome wrapping space.Arch), "nsga2" (an eaopt
//     Model doing constrained non-dominated sorting and crowding distance),
//     "regularized-evolution" (aging evolution) and "random".
//   - Multi-fidelity evaluation (Config.Fidelity, off by default): each
//     candidate is scored on growing numbers of examples
//     (FidelityEvaluator.EvaluateLevels) while its optimistic point is
//     not dominated by the front with every earlier candidate of the run
//     recorded (those of its own generation too: a batch's candidate waits
//     for those before it, so the parallelism never changes what a run
//     finds); only candidates scored at the last level enter the front,
//     the others are archived as Screened.
//   - Predictor screening (Config.Screening, off by default): once enough
//     candidates are measured, a latency predictor (devices/predictor) is
//     refitted on them every generation, and a new candidate, scored and
//     sized first (ScreeningEvaluator.EvaluateScreened), is measured only
//     if its point with the predicted latency lowered by the margin is not
//     dominated by the generation's front; the others are archived as
//     Screened and Predicted with the predicted latency, so every front
//     member is measured.
//   - Run: the loop, the budget and stop rules, parallel evaluation, the
//     run state in a Store (the run directory's bbolt file) and resume, progress Events and Prometheus
//     metrics.
//
// # Determinism and resume
//
// All randomness comes from one PCG source seeded by Config.Seed (eaopt's
// *math/rand.Rand is derived from it per generation). Each generation's
// batch is proposed and persisted, together with the source's state,
// before any of it is evaluated; every completed evaluation is persisted
// on its own as it completes, keyed by its generation and slot; a
// generation's result is applied in slot order once the batch is complete.
// So the run is a function of its seed and its Results, whatever the
// parallelism and however often it is interrupted: a resumed run loses no
// completed evaluation, repeats none, and ends where an uninterrupted run
// ends. An architecture already evaluated in the run is never sent to the
// Evaluator again.
//
// # Concurrency
//
// Run works on the calling goroutine and calls Evaluate from up to
// Config.Parallelism goroutines at once, retrying transient failures
// there (Config.Retry). Everything else (proposals, archive, persistence,
// events) happens on the calling goroutine, one step at a time. Keeping
// latency measurements alone is the device's and the evaluator's business
// (devices.Exclusive, evaluator.Gate), not the search's: its bookkeeping is
// brief and a remote device's measurements need no quiet machine.
// The Archive is not safe for concurrent use; Run may be called
// concurrently for different run IDs in different databases (bbolt allows
// one writer per file at a time, so runs sharing a file take turns).
package search
