// Package demotask generates the demo task of edgenas: a self-contained
// binary sentiment task (no downloaded data) whose labels need word order and
// composition, so that `edgenas demo` can train a small teacher in minutes and
// then show what compression costs.
//
// The package owns:
//
//   - the generator ([Generate]): deterministic train and dev splits from a
//     [Config] (seed, sizes, sentence length cap, mix of constructions), with
//     balanced labels and no text twice;
//   - the reference labeler ([Label]): a parser of the grammar that recomputes
//     the label of a sentence from its text alone;
//   - the word list ([Lexicon]) from which a WordPiece vocabulary that keeps
//     every word whole can be built, and a GLUE-style TSV writer ([WriteTSV]);
//   - the order-blind baseline ([TrainBoW]): logistic regression on unigram
//     counts, the number the teacher must beat.
//
// # The grammar
//
// Sentences are lower-case tokens separated by single spaces; "," and ";" are
// tokens of their own. A sentence is an optional opener ("honestly ,", "in
// short ,", ...) followed by one of six constructions ([Kind]). Their clauses
// have the form
//
//	clause := [frame] "the" noun ["of" "the" work] ("is" | "was") predicate
//	predicate := [negator] [intensifier] adjective
//	           | [negator] ("full of" | "without") polar-noun
//
// with 16 positive and 16 negative adjectives ("clever", "dull", ...), 8
// positive and 7 negative polar nouns ("charm", "flaws", ...), intensifiers
// that never flip ("very", "extremely", ...), negators ("not", "never",
// "hardly", "no longer") and frames that either keep ("i think that", "critics
// say that", ...) or flip ("i doubt that", "it is not true that", "it is not
// that", ...) the clause they introduce.
//
// The polarity of a clause is the polarity of its adjective or noun, flipped
// once for each negating element in it: a flipping frame, a negator,
// "without". A generated clause has at most two, so double negation occurs:
//
//	the film is without charm                          negative
//	the film is not without charm                      positive
//	the script is never without flaws                  negative
//	it is not that the film is bad                     positive
//	it is not true that the ending is not moving       positive
//
// The constructions, and which part decides the label:
//
//   - simple (22%): one clause without negation; its polarity.
//     "critics say that the movie is wonderful" → positive.
//   - negation (16%): one clause with one or two negating elements.
//     "the acting is not very dull" → positive;
//     "nobody thinks that the movie is without heart" → positive.
//   - comparative (8%): "more A than B" → A; "less A than B" → B, with A and
//     B of opposite polarity. "the plot is more dull than clever" →
//     negative; "the plot is less dull than clever" → positive.
//   - not-but (8%): "not A but B" → B (the negator scopes over A only).
//     "the cast is not brilliant but very predictable" → negative.
//   - contrast (23%): X connective Y with "but", ", but", "yet", ", yet",
//     ", and yet" or "; however ,": Y decides.
//     "the plot is clever but the acting is dull" → negative;
//     "the acting is dull but the plot is clever" → positive.
//   - concession (23%): with "although", "though", "even though", "even if"
//     or "despite the fact that", the clause the concessive does not
//     introduce decides: "although X , Y" → Y, "X , although Y" → X.
//     "although the plot is clever , the acting is dull" → negative;
//     "the plot is clever , although the acting is dull" → positive.
//
// Negating elements scope over their own clause only; a connective closes a
// clause. The two clauses of a contrast or concession always have opposite
// polarities, so no sentence reads as ambiguous, and the first clause of a
// contrast never has a frame ("it is false that X but Y" could be read with
// the frame over "X but Y"). [Label] rejects what the generator never makes.
//
// # Why a bag-of-words model fails
//
// Each comparative, not-but, contrast and concession sentence is drawn as
// content plus one bit that the generator sets to get the label it wants;
// the two settings of the bit give twins with the same multiset of words and
// opposite labels:
//
//	swap A and B          the plot is more dull than clever / more clever than dull
//	swap the clauses      X but Y / Y but X
//	move the concessive   although X , Y / X , although Y
//	move a negator        the plot is not clever but the acting is clever /
//	                      the plot is clever but the acting is not clever
//	move a frame          i doubt that X , although Y / X , although i doubt that Y
//
// Since the content does not depend on the label, a given multiset of words
// comes with either label equally often: on these 62% of the data any
// order-blind classifier, however nonlinear, is right half the time in
// expectation. Simple and negation sentences have no twins (one polar word
// decides, possibly flipped), so the best possible order-blind accuracy is
// about 0.22 + 0.16 + 0.62/2 = 0.69. A linear one (the baseline) does worse on
// negation, where it learns "clever" as positive and is then wrong on "not
// clever". Measured with [TrainBoW] on the Default splits (seed 1, 20000
// train, 2000 dev): dev accuracy 0.58 (simple 0.99, negation 0.41,
// comparative 0.47, not-but 0.49, contrast 0.49, concession 0.47); over seeds
// 1 to 8 it ranges from 0.58 to 0.62, mean 0.59, and 30 epochs instead of 10
// add less than a point.
//
// A model that reads order has what it needs: the label is a deterministic
// function of the tokens ([Label] recomputes it for every example in the
// tests), the composition is local (negation within a clause, clause
// selection by the connective and its position), and sentences have at most
// Config.MaxWords tokens (24 by default).
//
// # Determinism and concurrency
//
// All randomness comes from math/rand/v2 PCG generators seeded from
// Config.Seed (one stream for dev, one for train) and, for [TrainBoW], from
// its seed argument; the same inputs give the same outputs on every
// platform. The dev split is drawn first and does not depend on
// Config.Train; the train split leaves out every dev text. Changing the
// grammar changes the data: testdata/default_dev_head.tsv pins the start of
// the Default dev split.
//
// The package has no mutable global state: every function is safe for
// concurrent use, and a trained *BoW is immutable.
//
// # Errors
//
// Errors wrap one of the sentinel errors [ErrInvalidConfig] (through
// [FieldError]), [ErrExhausted], [ErrNotInGrammar] and [ErrInvalidExample].
// No input makes [Label] or [Generate] panic.
package demotask
