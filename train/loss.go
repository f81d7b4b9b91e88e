package train

import (
	"fmt"
	"math"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// ClassifyStep runs forward and backward on a batch with one label per row,
// adds d(mean cross-entropy)/dθ into g, and returns the mean loss and the
// number of rows whose argmax equals the label.
//
// g must have m's shapes (see NewGrads); the model needs a pooler and a
// classifier. Bad input returns an error wrapping ErrInput or ErrShape and
// leaves g untouched.
func (n *Net) ClassifyStep(b *tokenizer.Batch, labels []int, g *transformer.Model) (loss float64, correct int, err error) {
	if err := n.checkClassify(b, labels, true); err != nil {
		return 0, 0, err
	}
	if err := n.checkGrads(g); err != nil {
		return 0, 0, err
	}
	n.forward(b)
	C := n.m.Classifier.Out
	n.dlogits = grow(n.dlogits, b.Size*C)
	clear(n.dlogits)
	loss, correct = crossEntropy(n.logits, labels, C, 1/float64(b.Size), n.dlogits)
	n.startBackward()
	n.headBackward(n.dlogits, g)
	n.encoderBackward(b, g)
	return loss, correct, nil
}

// checkClassify validates a batch and, when needed, its labels.
func (n *Net) checkClassify(b *tokenizer.Batch, labels []int, needLabels bool) error {
	if err := n.checkBatch(b); err != nil {
		return err
	}
	if n.m.Pooler == nil || n.m.Classifier == nil {
		return fmt.Errorf("%w: the model has no pooler and classifier", ErrInput)
	}
	if !needLabels && labels == nil {
		return nil
	}
	if len(labels) != b.Size {
		return fmt.Errorf("%w: %d labels for a batch of %d rows", ErrInput, len(labels), b.Size)
	}
	for i, y := range labels {
		if y < 0 || y >= n.m.Classifier.Out {
			return fmt.Errorf("%w: row %d: label %d outside [0, %d)", ErrInput, i, y, n.m.Classifier.Out)
		}
	}
	return nil
}

// crossEntropy computes Σ_rows -log softmax(logits)[label] · w for rows of
// C logits, adding w·(softmax - onehot) into dlogits, and counts the rows
// whose argmax is the label. Rows with a negative label are skipped.
func crossEntropy(logits []float32, labels []int, C int, w float64, dlogits []float32) (loss float64, correct int) {
	for r, y := range labels {
		if y < 0 {
			continue
		}
		row, d := logits[r*C:(r+1)*C], dlogits[r*C:(r+1)*C]
		best, mx := 0, row[0]
		for j, v := range row {
			if v > mx {
				best, mx = j, v
			}
		}
		if best == y {
			correct++
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - mx))
		}
		lse := float64(mx) + math.Log(sum)
		loss += (lse - float64(row[y])) * w
		for j, v := range row {
			p := math.Exp(float64(v) - lse)
			if j == y {
				p--
			}
			d[j] += float32(p * w)
		}
	}
	return loss, correct
}
