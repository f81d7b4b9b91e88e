// Package space is the search space of edgenas: which compressed students of
// a teacher the search may propose, and the genome that names one.
//
// A Spec (read from the `space:` part of a search's YAML) lists the allowed
// choices: how many encoder layers are kept and which teacher layers may
// serve, heads and FFN width per layer, low-rank ranks of the attention and
// FFN matrices (0 = full rank), weight bit width per layer, ALBERT-style
// sharing groups, embedding factorization rank and bit width, and the
// sequence length. New binds a Spec to the teacher's dimensions and returns
// a Space.
//
// An Arch is the genome: one LayerGene per kept layer plus the embedding and
// sequence genes. Space.Validate checks every rule and names each violation;
// Sample, Mutate and Crossover build valid Archs by construction and validate
// what they return, so nothing downstream has to repair an Arch. Key gives
// the canonical, versioned string of an Arch (independent of the order of
// the Spec's lists), ParseKey and DecodeArch read one back.
//
// A Space is immutable after New and safe for concurrent use; the *rand.Rand
// passed to Sample, Mutate and Crossover is not, so give each goroutine its
// own. Package space imports nothing else of edgenas.
package space
