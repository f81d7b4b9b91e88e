package demotask

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// DefaultBoWEpochs is the number of epochs [TrainBoW] uses when given 0 or
// fewer.
const DefaultBoWEpochs = 10

// Hyper-parameters of the bag-of-words baseline (AdamW on the logistic loss).
const (
	bowBatch       = 32
	bowLR          = 0.05
	bowBeta1       = 0.9
	bowBeta2       = 0.999
	bowEps         = 1e-8
	bowWeightDecay = 1e-4
)

// BoW is the order-blind baseline: logistic regression on unigram counts
// (one weight per training word and a bias). Word order cannot change its
// output, which is why it fails on the constructions whose label depends on
// order. A *BoW is immutable once trained and safe for concurrent use.
type BoW struct {
	index map[string]int // word -> weight index
	w     []float64
	bias  float64
}

// TrainBoW fits a [BoW] to train: minibatches of 32, AdamW (learning rate
// 0.05 decaying linearly to 0, decoupled weight decay 1e-4 as the L2
// penalty), epochs passes over the data in an order shuffled from seed
// (epochs <= 0 means [DefaultBoWEpochs]). The result is a deterministic
// function of its arguments. Words are the white-space-separated tokens of
// the lower-cased text; words not seen in training are ignored at prediction.
func TrainBoW(train []Example, epochs int, seed uint64) *BoW {
	if epochs <= 0 {
		epochs = DefaultBoWEpochs
	}
	b := &BoW{index: make(map[string]int)}
	var words []string
	seen := make(map[string]bool)
	docs := make([][]string, len(train))
	for i, e := range train {
		docs[i] = strings.Fields(strings.ToLower(e.Text))
		for _, w := range docs[i] {
			if !seen[w] {
				seen[w] = true
				words = append(words, w)
			}
		}
	}
	slices.Sort(words) // weight order does not depend on example order
	for i, w := range words {
		b.index[w] = i
	}
	feats := make([][]int, len(train)) // weight index per token (repeats = counts)
	for i, doc := range docs {
		feats[i] = make([]int, len(doc))
		for k, w := range doc {
			feats[i][k] = b.index[w]
		}
	}
	if len(train) == 0 {
		return b
	}

	n := len(words) + 1 // the last parameter is the bias
	theta := make([]float64, n)
	grad := make([]float64, n)
	m := make([]float64, n)
	v := make([]float64, n)
	order := make([]int, len(train))
	for i := range order {
		order[i] = i
	}
	r := rand.New(rand.NewPCG(seed, bowStream))
	steps := epochs * ((len(train) + bowBatch - 1) / bowBatch)
	step := 0
	for range epochs {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for lo := 0; lo < len(order); lo += bowBatch {
			batch := order[lo:min(lo+bowBatch, len(order))]
			clear(grad)
			for _, i := range batch {
				z := theta[n-1]
				for _, k := range feats[i] {
					z += theta[k]
				}
				// d(logistic loss)/dz, averaged over the batch.
				g := (sigmoid(z) - float64(train[i].Label)) / float64(len(batch))
				for _, k := range feats[i] {
					grad[k] += g
				}
				grad[n-1] += g
			}
			step++
			lr := bowLR * (1 - float64(step-1)/float64(steps))
			c1 := 1 - math.Pow(bowBeta1, float64(step))
			c2 := 1 - math.Pow(bowBeta2, float64(step))
			for k := range theta {
				m[k] = bowBeta1*m[k] + (1-bowBeta1)*grad[k]
				v[k] = bowBeta2*v[k] + (1-bowBeta2)*grad[k]*grad[k]
				theta[k] -= lr * (m[k]/c1/(math.Sqrt(v[k]/c2)+bowEps) + bowWeightDecay*theta[k])
			}
		}
	}
	b.w, b.bias = theta[:n-1], theta[n-1]
	return b
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Predict returns the label b gives text: 1 if the score (bias plus the
// weight of every known word, counted with multiplicity) is positive, else 0.
func (b *BoW) Predict(text string) int {
	z := b.bias
	for _, w := range strings.Fields(strings.ToLower(text)) {
		if k, ok := b.index[w]; ok {
			z += b.w[k]
		}
	}
	if z > 0 {
		return 1
	}
	return 0
}

// Accuracy returns the fraction of ex that b labels correctly, 0 for no
// examples.
func (b *BoW) Accuracy(ex []Example) float64 {
	if len(ex) == 0 {
		return 0
	}
	right := 0
	for _, e := range ex {
		if b.Predict(e.Text) == e.Label {
			right++
		}
	}
	return float64(right) / float64(len(ex))
}
