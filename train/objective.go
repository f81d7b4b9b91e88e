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

// Distillation is the Objective of knowledge distillation: the student is
// trained toward the teacher's soft targets, hidden states and attention
// maps, and the labels, weighted as Config says (Net.DistillStep).
type Distillation struct {
	Student, Teacher *Net
	Config           KDConfig
}

// NewDistillation returns the distillation objective of student toward
// teacher (only read) on threads threads.
func NewDistillation(student, teacher *transformer.Model, cfg KDConfig, threads int) *Distillation {
	return &Distillation{Student: NewNet(student, threads), Teacher: NewNet(teacher, threads), Config: cfg}
}

// Step runs DistillStep on b, adding the student's gradient into g.
func (d *Distillation) Step(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error) {
	if err := ctx.Err(); err != nil {
		return StepResult{}, err
	}
	loss, err := d.Student.DistillStep(d.Teacher, &b.Tokens, b.Labels, d.Config, g)
	return StepResult{Loss: loss, Correct: d.Student.LastDistill().Correct}, err
}
