package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/safetensors"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// fakeObjective is a cheap, deterministic stand-in for the backward pass:
// its gradient depends on the weights and on which tokens and labels the
// batch holds, so batch order and optimizer state both show in the weights.
type fakeObjective struct {
	m     *transformer.Model
	calls int
	// hook, when set, runs after every call with its 1-based number and
	// may change the result.
	hook func(call int, r *StepResult)
}

func (f *fakeObjective) Step(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error) {
	if err := ctx.Err(); err != nil {
		return StepResult{}, err
	}
	f.calls++
	H := f.m.Config.HiddenSize
	n := float32(b.Tokens.Size)
	loss := 0.0
	for r := 0; r < b.Tokens.Size; r++ {
		target := float32(0.1)
		if b.Labels[r] == 1 {
			target = -0.1
		}
		ids, _, mask := b.Tokens.Row(r)
		for j, id := range ids {
			if mask[j] == 0 {
				continue
			}
			w := f.m.Embeddings.Word[int(id)*H : (int(id)+1)*H]
			gw := g.Embeddings.Word[int(id)*H : (int(id)+1)*H]
			for k := range w {
				d := (w[k] - target*float32(k%3)) / n
				gw[k] += d
				loss += float64(d * d)
			}
		}
		for k, w := range f.m.Classifier.W {
			g.Classifier.W[k] += (w - target) / n
		}
	}
	res := StepResult{Loss: loss, Correct: b.Tokens.Size / 2}
	if f.hook != nil {
		f.hook(f.calls, &res)
	}
	return res, nil
}

// fake returns an objective factory for fakeObjective with hook.
func fake(hook func(call int, r *StepResult)) NewObjectiveFunc {
	return func(m *transformer.Model, _ int) (Objective, error) {
		return &fakeObjective{m: m, hook: hook}, nil
	}
}

// tinyConfig is a small demo run: 120 examples in batches of 8, so 15
// steps per epoch and 30 in all.
func tinyConfig(t *testing.T) Config {
	t.Helper()
	zero, clip := 0.0, 1.0
	return Config{
		Model:     ModelConfig{Shape: "custom", Layers: 1, Hidden: 8, Heads: 2, FFN: 16, MaxPosition: 64},
		Data:      DataConfig{Demo: &DemoData{Seed: 3, Train: 120, Dev: 40}},
		MaxSeqLen: 32,
		BatchSize: 8,
		Epochs:    2,
		LR:        1e-2,
		Warmup:    &zero,
		Clip:      &clip,
		EvalEvery: 7,
		Seed:      5,
		Threads:   1,
		RunDir:    filepath.Join(t.TempDir(), "run"),
		LogEvery:  5,
		MaxLoss:   1e9,
	}
}

// weights reads the model tensors of a checkpoint directory.
func weights(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	m, err := transformer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	m.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) { out[name] = p })
	return out
}

func sameWeights(t *testing.T, a, b map[string][]float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d tensors vs %d", len(a), len(b))
	}
	for name, pa := range a {
		pb := b[name]
		for i := range pa {
			if math.Float32bits(pa[i]) != math.Float32bits(pb[i]) {
				t.Fatalf("%s[%d]: %v vs %v", name, i, pa[i], pb[i])
			}
		}
	}
}

func objectives() map[string]NewObjectiveFunc {
	return map[string]NewObjectiveFunc{"fake": fake(nil), "classification": nil}
}

func TestResumeMatchesUninterrupted(t *testing.T) {
	for name, obj := range objectives() {
		ref := tinyConfig(t)
		res, err := Run(context.Background(), ref, Options{Objective: obj})
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != 30 || res.TotalSteps != 30 {
			t.Fatalf("%s: %d of %d steps, want 30", name, res.Steps, res.TotalSteps)
		}
		want := weights(t, filepath.Join(ref.RunDir, LastDir))
		for _, k := range []int{3, 14, 15, 16, 29} { // mid-epoch, eval/checkpoint step, epoch end, next epoch, last-but-one
			t.Run(name+"/kill-after-"+string(rune('0'+k/10))+string(rune('0'+k%10)), func(t *testing.T) {
				cfg := tinyConfig(t)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				newObj := obj
				if newObj == nil {
					newObj = NewClassification
				}
				calls := 0
				killing := func(m *transformer.Model, threads int) (Objective, error) {
					inner, err := newObj(m, threads)
					return objectiveFunc(func(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error) {
						r, err := inner.Step(ctx, b, g)
						calls++
						if calls == k {
							cancel() // the "kill" arrives after step k's backward pass
						}
						return r, err
					}), err
				}
				_, err := Run(ctx, cfg, Options{Objective: killing})
				if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted run: %v, want ErrInterrupted wrapping context.Canceled", err)
				}
				st, err := readState(filepath.Join(cfg.RunDir, LastDir))
				if err != nil {
					t.Fatal(err)
				}
				if st.Step != k {
					t.Fatalf("checkpoint at step %d, want %d", st.Step, k)
				}
				res, err := Run(context.Background(), cfg, Options{Objective: obj, Resume: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.ResumedFrom != k || res.Steps != 30 {
					t.Fatalf("resumed from %d to %d, want %d to 30", res.ResumedFrom, res.Steps, k)
				}
				sameWeights(t, want, weights(t, filepath.Join(cfg.RunDir, LastDir)))
			})
		}
	}
}

// objectiveFunc adapts a function to Objective.
type objectiveFunc func(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error)

func (f objectiveFunc) Step(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error) {
	return f(ctx, b, g)
}

func TestSameSeedSameWeights(t *testing.T) {
	a, b, c := tinyConfig(t), tinyConfig(t), tinyConfig(t)
	c.Seed = 6
	for _, cfg := range []Config{a, b, c} {
		if _, err := Run(context.Background(), cfg, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	wa := weights(t, filepath.Join(a.RunDir, LastDir))
	sameWeights(t, wa, weights(t, filepath.Join(b.RunDir, LastDir)))
	wc := weights(t, filepath.Join(c.RunDir, LastDir))
	if wa["classifier.weight"][0] == wc["classifier.weight"][0] {
		t.Error("another seed gave the same classifier weight")
	}
}

func TestDivergence(t *testing.T) {
	cases := []struct {
		name string
		loss float64
	}{
		{"nan", math.NaN()},
		{"inf", math.Inf(1)},
		{"exploding", 1e12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig(t)
			cfg.MaxLoss = 100
			obj := fake(func(call int, r *StepResult) {
				if call == 10 {
					r.Loss = tc.loss
				}
			})
			res, err := Run(context.Background(), cfg, Options{Objective: obj})
			if !errors.Is(err, ErrDiverged) || res != nil {
				t.Fatalf("got %v, %v; want ErrDiverged", res, err)
			}
			last := filepath.Join(cfg.RunDir, LastDir)
			for _, want := range []string{"step 10", last, "step 7"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			st, err := readState(last)
			if err != nil || st.Step != 7 {
				t.Fatalf("last checkpoint: %+v, %v; want step 7", st, err)
			}
			// The kept checkpoint resumes.
			cfg.MaxLoss = 1e9
			if _, err := Run(context.Background(), cfg, Options{Objective: fake(nil), Resume: true}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// nanGrad puts a NaN into the gradient: the optimizer refuses it.
func TestNaNGradient(t *testing.T) {
	cfg := tinyConfig(t)
	obj := func(m *transformer.Model, threads int) (Objective, error) {
		inner := &fakeObjective{m: m}
		return objectiveFunc(func(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error) {
			r, err := inner.Step(ctx, b, g)
			if inner.calls == 3 {
				g.Classifier.B[0] = float32(math.NaN())
			}
			return r, err
		}), nil
	}
	_, err := Run(context.Background(), cfg, Options{Objective: obj})
	if !errors.Is(err, ErrDiverged) || !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "no checkpoint was written") {
		t.Fatalf("got %v", err)
	}
}

func TestObjectiveError(t *testing.T) {
	cfg := tinyConfig(t)
	boom := errors.New("boom")
	obj := func(m *transformer.Model, threads int) (Objective, error) {
		return objectiveFunc(func(context.Context, *Batch, *transformer.Model) (StepResult, error) {
			return StepResult{}, boom
		}), nil
	}
	if _, err := Run(context.Background(), cfg, Options{Objective: obj}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "step 1") {
		t.Fatalf("got %v", err)
	}
}

func TestCheckpointLayout(t *testing.T) {
	cfg := tinyConfig(t)
	var log bytes.Buffer
	res, err := Run(context.Background(), cfg, Options{Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoint != filepath.Join(cfg.RunDir, BestDir) || res.BestStep == 0 {
		t.Fatalf("result %+v", res)
	}
	if res.BaselineAccuracy == nil || *res.BaselineAccuracy <= 0 || res.Examples != 120 || res.DevExamples != 40 {
		t.Fatalf("result %+v", res)
	}
	for dir, files := range map[string][]string{
		LastDir: {transformer.ConfigFile, transformer.WeightsFile, tokenizer.VocabFile, TrainingFile, OptimizerFile, StateFile},
		BestDir: {transformer.ConfigFile, transformer.WeightsFile, tokenizer.VocabFile, TrainingFile},
	} {
		d := filepath.Join(cfg.RunDir, dir)
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(d, f)); err != nil {
				t.Error(err)
			}
		}
		m, err := transformer.Load(d)
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.Edgenas == nil || !strings.Contains(m.Config.Edgenas.Provenance, "trained from scratch by edgenas") {
			t.Errorf("%s: provenance %+v", d, m.Config.Edgenas)
		}
		if got := m.Config.Labels(); got[0] != "negative" || got[1] != "positive" {
			t.Errorf("%s: labels %v", d, got)
		}
		tok, err := tokenizer.Load(d)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != m.Config.VocabSize {
			t.Errorf("%s: vocab %d, model %d", d, tok.VocabSize(), m.Config.VocabSize)
		}
		var info trainingInfo
		data, _ := os.ReadFile(filepath.Join(d, TrainingFile))
		if err := json.Unmarshal(data, &info); err != nil || info.Provenance != Provenance || info.Step == 0 {
			t.Errorf("%s: %+v %v", d, info, err)
		}
	}
	// The best checkpoint's accuracy is what Evaluate measures on it.
	m, _ := transformer.Load(filepath.Join(cfg.RunDir, BestDir))
	tok, _ := tokenizer.Load(filepath.Join(cfg.RunDir, BestDir))
	_, dev, _ := DemoExamples(cfg.Data.Demo.Generator())
	acc, err := Evaluate(m, NewDataset(tok, dev, cfg.MaxSeqLen), 2)
	if err != nil || acc != res.DevAccuracy {
		t.Errorf("best checkpoint scores %v (%v), result says %v", acc, err, res.DevAccuracy)
	}
	// Optimizer state: one pair of moments per parameter tensor.
	f, err := safetensors.ReadFile(filepath.Join(cfg.RunDir, LastDir, OptimizerFile))
	if err != nil || len(f.Tensors) != 2*len(weights(t, filepath.Join(cfg.RunDir, LastDir))) || f.Metadata["step"] != "30" {
		t.Errorf("optimizer file: %v, %d tensors, metadata %v", err, len(f.Tensors), f.Metadata)
	}
	left, _ := filepath.Glob(filepath.Join(cfg.RunDir, ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	for _, want := range []string{"training ", "step 5/30", "dev accuracy", "(best)"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

func TestRunDirErrors(t *testing.T) {
	cfg := tinyConfig(t)
	if _, err := Run(context.Background(), cfg, Options{Objective: fake(nil), Resume: true}); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("resume without checkpoint: %v", err)
	}
	if _, err := Run(context.Background(), cfg, Options{Objective: fake(nil)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, Options{Objective: fake(nil)}); err == nil || !strings.Contains(err.Error(), "already holds a checkpoint") {
		t.Fatalf("second fresh run over a checkpoint: %v", err)
	}
	changed := cfg
	changed.LR = 0.5
	changed.BatchSize = 4
	if _, err := Run(context.Background(), changed, Options{Objective: fake(nil), Resume: true}); err == nil ||
		!strings.Contains(err.Error(), "[batch_size lr]") {
		t.Fatalf("resume with another config: %v", err)
	}
	// Resuming a finished run does nothing more and reports it.
	res, err := Run(context.Background(), cfg, Options{Objective: fake(nil), Resume: true})
	if err != nil || res.Steps != 30 || res.ResumedFrom != 30 {
		t.Fatalf("resume finished run: %+v, %v", res, err)
	}
}

func TestRecoverHalfSwappedCheckpoint(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Epochs = 1
	if _, err := Run(context.Background(), cfg, Options{Objective: fake(nil)}); err != nil {
		t.Fatal(err)
	}
	// A kill between the two renames of replaceDir: last moved aside, the
	// new one still in its temporary directory.
	last := filepath.Join(cfg.RunDir, LastDir)
	if err := os.Rename(last, oldDir(last)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.RunDir, tmpPattern(last)+"123"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Epochs = 1
	res, err := Run(context.Background(), cfg, Options{Objective: fake(nil), Resume: true})
	if err != nil || res.ResumedFrom != 15 {
		t.Fatalf("%+v %v", res, err)
	}
	left, _ := filepath.Glob(filepath.Join(cfg.RunDir, ".*"))
	if len(left) > 0 {
		t.Errorf("left over: %v", left)
	}
}

func TestMaxSteps(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Epochs, cfg.MaxSteps = 0, 40 // more than two epochs
	res, err := Run(context.Background(), cfg, Options{Objective: fake(nil)})
	if err != nil || res.Steps != 40 {
		t.Fatalf("%+v %v", res, err)
	}
	st, _ := readState(filepath.Join(cfg.RunDir, LastDir))
	if st.Epoch != 2 || st.Batch != 10 {
		t.Errorf("position epoch %d batch %d, want 2 and 10", st.Epoch, st.Batch)
	}
}
