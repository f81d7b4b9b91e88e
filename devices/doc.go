// Package devices says where latency comes from. It holds the measurement
// statistics shared by every backend; the Device contract and its backends
// (local, agent, predictor) build on them.
//
// The contract: a Device is safe for concurrent use and never overlaps two
// of its own measurements; several devices may measure at once. A device
// that needs the machine quiet while it measures declares it (Exclusive,
// MeasuresAlone) and whoever runs other work beside it (the evaluator)
// keeps that work out of its measurements. A device that cannot be reached
// returns an error wrapping ErrUnavailable, which callers may retry. Each
// measurement's timed work is bracketed by StartMeasure, so a Trace in the
// context observes it (the conformance suite checks overlap this way).
//
// Everything here is safe for concurrent use; the statistics are pure
// functions of their inputs.
package devices
