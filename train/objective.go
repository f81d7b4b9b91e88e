package train

import (
	"context"

	"github.com/edgenas/edgenas/transformer"
)

// Classification is the Objective of sequence classification: mean
// cross-entropy of the classifier's logits against the batch labels,
// computed by a Net.
type Classification struct {
	Net *Net // runs the forward and backward passes
}

// NewClassification returns the classification objective for m on threads
// threads. It is the default objective of Run.
func NewClassification(m *transformer.Model, threads int) (Objective, error) {
	return &Classification{Net: NewNet(m, threads)}, nil
}

// Step runs ClassifyStep on b, adding the gradient into g.
func (c *Classification) Step(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error) {
	if err := ctx.Err(); err != nil {
		return StepResult{}, err
	}
	loss, correct, err := c.Net.ClassifyStep(&b.Tokens, b.Labels, g)
	return StepResult{Loss: loss, Correct: correct}, err
}
