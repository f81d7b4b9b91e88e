package train

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer"
)

// TestDistillationRecoversStudent trains a student from given weights
// toward a teacher with soft targets only: the student's KL to the teacher
// on the dev set must fall, and the checkpoint must say where its weights
// came from.
func TestDistillationRecoversStudent(t *testing.T) {
	c, err := tinyConfig(t).Resolved()
	if err != nil {
		t.Fatal(err)
	}
	c.Epochs = 4
	tok, _, dev, err := loadData(c)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := c.ModelConfig(tok.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	teacher, err := transformer.NewRandom(mc, rand.New(rand.NewPCG(1, 1)), 0.5)
	if err != nil {
		t.Fatal(err)
	}
	student, err := transformer.NewRandom(mc, rand.New(rand.NewPCG(2, 2)), 0.5)
	if err != nil {
		t.Fatal(err)
	}
	student.Config.Edgenas.Provenance = "a test student"
	distillHalvesKL(t, c, NewDataset(tok, dev, c.MaxSeqLen), teacher, student)
	if p := student.Config.Edgenas.Provenance; !strings.HasPrefix(p, "a test student") || !strings.HasSuffix(p, fineTuned) {
		t.Errorf("provenance %q", p)
	}
}

// distillHalvesKL distills student toward teacher with soft targets only
// under Run with config c, and checks that the mean KL of the student's
// predictions on ds to the teacher's falls at least by half.
func distillHalvesKL(t *testing.T, c Config, ds *Dataset, teacher, student *transformer.Model) {
	t.Helper()
	kl := func() float64 {
		p, err := Predict(teacher, ds, 1)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Predict(student, ds, 1)
		if err != nil {
			t.Fatal(err)
		}
		return softKL(q, p, len(p)/2, 2, 1, 0, make([]float32, len(q)))
	}
	before := kl()
	kd := KDConfig{Temperature: 2, SoftWeight: 1}
	_, err := Run(context.Background(), c, Options{Init: student, Objective: func(m *transformer.Model, threads int) (Objective, error) {
		return NewDistillation(m, teacher, kd, threads), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	after := kl()
	if !(after < before/2) {
		t.Fatalf("KL to the teacher %.4f before distillation, %.4f after", before, after)
	}
	t.Logf("KL to the teacher: %.4f → %.4f", before, after)
}
