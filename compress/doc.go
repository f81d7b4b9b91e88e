// Package compress turns a teacher and an architecture (space.Arch) into a
// real student model with real weights that the engine runs: importance
// scores of heads, FFN neurons and layers, structured pruning (the student
// is genuinely smaller), ALBERT-style sharing, low-rank factorization by
// truncated SVD, and quantization; and it measures what a student costs.
//
// Apply never modifies the teacher and the student owns its memory.
// Everything here is safe for concurrent use on distinct students; an
// Importance is read-only once computed.
package compress
