// Package devices says where latency comes from. It holds the measurement
// statistics shared by every backend; the Device contract and its backends
// (local, agent, predictor) build on them.
//
// Everything here is a pure function of its inputs and safe for concurrent use.
package devices
