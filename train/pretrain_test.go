package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/safetensors"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

func TestParseText(t *testing.T) {
	in := " \n = Valkyria Chronicles III = \n\n Senjō no Valkyria 3 : <unk> Chronicles is a 2011 @-@ era game .\n" +
		" = = Gameplay = = \n It sold 1 @,@ 000 copies at $ 3 @.@ 5 .\n"
	got, err := ParseText(strings.NewReader(in), "w.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Senjō no Valkyria 3 : [UNK] Chronicles is a 2011-era game .",
		"It sold 1,000 copies at $ 3.5 .",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// [UNK] stays one token.
	tok := demoTokenizer(t)
	if ids := tok.Encode("[UNK] good", "", 0).IDs; ids[1] != tok.UNKID() {
		t.Errorf("[UNK] encodes as %v", ids)
	}
	long := strings.Repeat("x", limitio.LineLimit+1)
	if _, err := ParseText(strings.NewReader("a\n"+long), "big.txt"); !errors.Is(err, ErrData) || !strings.Contains(err.Error(), "big.txt:2") {
		t.Errorf("long line: %v", err)
	}
}

func TestTextSequences(t *testing.T) {
	tok := demoTokenizer(t)
	words := demoWords(t, 25)
	encs := textSequences(tok, []string{strings.Join(words, " "), words[0]}, 10)
	// 25 pieces in windows of 8, then the one-word paragraph.
	if len(encs) != 5 {
		t.Fatalf("%d sequences, want 5", len(encs))
	}
	var pieces []int32
	for i, e := range encs {
		n := len(e.IDs)
		if n > 10 || e.IDs[0] != tok.CLSID() || e.IDs[n-1] != tok.SEPID() || len(e.Mask) != n || len(e.TypeIDs) != n {
			t.Fatalf("sequence %d: %+v", i, e)
		}
		if i < 4 {
			pieces = append(pieces, e.IDs[1:n-1]...)
		}
	}
	if want := tok.Encode(strings.Join(words, " "), "", 0).IDs; !slices.Equal(pieces, want[1:len(want)-1]) {
		t.Errorf("windows do not cover the paragraph in order")
	}
}

// demoWords returns n words of the demo lexicon.
func demoWords(t *testing.T, n int) []string {
	t.Helper()
	v := DemoVocab()[5:]
	out := make([]string, n)
	for i := range out {
		out[i] = v[(i*7)%len(v)]
	}
	return out
}

func TestMaskerStatistics(t *testing.T) {
	tok := demoTokenizer(t)
	k, err := NewMasker(tok, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	// 400 rows of random lengths, each with [CLS], [SEP], some [UNK] and
	// padding.
	rng := rand.New(rand.NewPCG(9, 9))
	V := tok.VocabSize()
	var encs []tokenizer.Encoding
	for range 400 {
		n := 3 + rng.IntN(40)
		e := tokenizer.Encoding{IDs: []int32{tok.CLSID()}}
		for range n {
			id := int32(5 + rng.IntN(V-5))
			if rng.IntN(20) == 0 {
				id = tok.UNKID()
			}
			e.IDs = append(e.IDs, id)
		}
		e.IDs = append(e.IDs, tok.SEPID())
		encs = append(encs, e)
	}
	orig := tokenizer.NewBatch(encs, tok.PadID())
	run := func(seed uint64) (*tokenizer.Batch, []int) {
		b := orig
		b.IDs = slices.Clone(orig.IDs)
		return &b, k.Mask(rand.New(rand.NewPCG(seed, 1)), &b, nil)
	}
	b, targets := run(1)
	eligible, chosen, masked, random, kept := 0, 0, 0, 0, 0
	for i, id := range orig.IDs {
		special := orig.Mask[i] == 0 || id == tok.CLSID() || id == tok.SEPID() || id == tok.UNKID() || id == tok.PadID()
		if special {
			if targets[i] != -1 || b.IDs[i] != id {
				t.Fatalf("special position %d (id %d) masked: target %d, id now %d", i, id, targets[i], b.IDs[i])
			}
			continue
		}
		eligible++
		if targets[i] == -1 {
			if b.IDs[i] != id {
				t.Fatalf("unpredicted position %d changed", i)
			}
			continue
		}
		chosen++
		if targets[i] != int(id) {
			t.Fatalf("target %d at %d, want the original %d", targets[i], i, id)
		}
		switch now := b.IDs[i]; {
		case now == tok.MaskID():
			masked++
		case now == id:
			kept++
		default:
			random++
			if now < 5 {
				t.Fatalf("random replacement %d is a special token", now)
			}
		}
	}
	near := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s fraction %.4f, want %.2f ± %.2f", name, got, want, tol)
		}
	}
	if eligible < 5000 {
		t.Fatalf("only %d eligible tokens", eligible)
	}
	near("predicted", float64(chosen)/float64(eligible), 0.15, 0.015)
	near("[MASK]", float64(masked)/float64(chosen), 0.8, 0.04)
	near("random", float64(random)/float64(chosen), 0.1, 0.03)
	near("kept", float64(kept)/float64(chosen), 0.1, 0.03)

	b2, targets2 := run(1)
	if !slices.Equal(b.IDs, b2.IDs) || !slices.Equal(targets, targets2) {
		t.Error("the same seed masks differently")
	}
	b3, _ := run(2)
	if slices.Equal(b.IDs, b3.IDs) {
		t.Error("another seed masks the same way")
	}
}

func TestNewMaskerErrors(t *testing.T) {
	tok := demoTokenizer(t)
	for _, p := range []float64{0, 1, -0.1, math.NaN()} {
		if _, err := NewMasker(tok, p); err == nil {
			t.Errorf("prob %v accepted", p)
		}
	}
	noMask, err := tokenizer.New([]string{tokenizer.PADToken, tokenizer.UNKToken, tokenizer.CLSToken, tokenizer.SEPToken, "a"}, tokenizer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMasker(noMask, 0.15); err == nil || !strings.Contains(err.Error(), "[MASK]") {
		t.Errorf("vocabulary without [MASK]: %v", err)
	}
}

// writePretrainText writes demo sentences as a WikiText-style raw text
// file (paragraphs of several sentences, headings, blank lines) and as a
// TSV file, and returns their paths.
func writePretrainText(t *testing.T) (txt, tsv string) {
	t.Helper()
	train, _, err := DemoExamples((&DemoData{Seed: 11, Train: 600, Dev: 10}).Generator())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var raw, tab strings.Builder
	tab.WriteString("sentence\tlabel\n")
	for i, e := range train {
		if i%40 == 0 {
			raw.WriteString("\n = Section = \n\n")
		}
		raw.WriteString(" " + e.Text + " .")
		if i%4 == 3 {
			raw.WriteString("\n")
		}
		if i%3 == 0 {
			tab.WriteString(e.Text + "\t1\n")
		}
	}
	txt, tsv = filepath.Join(dir, "text.txt"), filepath.Join(dir, "text.tsv")
	if err := os.WriteFile(txt, []byte(raw.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tsv, []byte(tab.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return txt, tsv
}

// pretrainConfig is tinyConfig with a pretraining stage of 24 steps on the
// files of writePretrainText.
func pretrainConfig(t *testing.T) Config {
	t.Helper()
	c := tinyConfig(t)
	txt, tsv := writePretrainText(t)
	zero := 0.0
	c.Pretrain = &PretrainConfig{Text: []string{txt, tsv}, Steps: 24, BatchSize: 8, MaxSeqLen: 24, LR: 1e-2,
		Warmup: &zero, CheckpointEvery: 5, Seed: 3}
	return c
}

// mlmLoss is the MLM loss of the encoder in dir (with its MLM head) on a
// fixed masked batch of the demo dev sentences.
func mlmLoss(t *testing.T, m *transformer.Model, head *MLMHead) float64 {
	t.Helper()
	tok := demoTokenizer(t)
	_, dev, err := DemoExamples((&DemoData{Seed: 12, Train: 10, Dev: 64}).Generator())
	if err != nil {
		t.Fatal(err)
	}
	d := NewDataset(tok, dev, 24)
	idx := make([]int, d.Len())
	for i := range idx {
		idx[i] = i
	}
	b := d.Batch(idx)
	k, _ := NewMasker(tok, 0.15)
	targets := k.Mask(rand.New(rand.NewPCG(1, 2)), &b.Tokens, nil)
	enc := encoderView(m)
	loss, _, err := NewNet(enc, 1).MLMStep(&b.Tokens, targets, head, NewGrads(enc), NewMLMGrads(head))
	if err != nil {
		t.Fatal(err)
	}
	return loss
}

// loadPretrained reads the encoder and MLM head of a pretraining
// checkpoint.
func loadPretrained(t *testing.T, runDir string) (*transformer.Model, *MLMHead) {
	t.Helper()
	dir := filepath.Join(runDir, PretrainDir)
	m, err := transformer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	head := NewMLMHead(m.Config, nil, 0)
	if err := readMLMHead(filepath.Join(dir, MLMHeadFile), head); err != nil {
		t.Fatal(err)
	}
	return m, head
}

func TestPretrainLowersMLMLoss(t *testing.T) {
	cfg := pretrainConfig(t)
	cfg.Pretrain.Steps = 40
	cfg.Epochs, cfg.MaxSteps = 0, 1
	rc, err := cfg.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	tok := demoTokenizer(t)
	mc, _ := rc.ModelConfig(tok.VocabSize())
	fresh, err := initModel(mc, rand.New(rand.NewPCG(rc.Seed, initStream)), rc.Model.InitStd)
	if err != nil {
		t.Fatal(err)
	}
	before := mlmLoss(t, fresh, NewMLMHead(mc, rand.New(rand.NewPCG(rc.Pretrain.Seed, headStream)), rc.Model.InitStd))
	var log bytes.Buffer
	res, err := Run(context.Background(), cfg, Options{Progress: &log, Objective: fake(nil)})
	if err != nil {
		t.Fatal(err)
	}
	pm, ph := loadPretrained(t, cfg.RunDir)
	after := mlmLoss(t, pm, ph)
	t.Logf("MLM loss %.4f -> %.4f (smoothed training loss %.4f)", before, after, res.PretrainLoss)
	if !(after < before-0.5) {
		t.Errorf("MLM loss %.4f -> %.4f: want a drop of at least 0.5", before, after)
	}
	if res.PretrainSteps != 40 || res.PretrainLoss <= 0 || res.PretrainSeconds <= 0 || res.PretrainCheckpoint != filepath.Join(cfg.RunDir, PretrainDir) {
		t.Errorf("result %+v", res)
	}
	for _, want := range []string{"masked-LM pretraining on", "pretrain step 5/40  MLM loss", "masked acc", "tok/s", "pretraining done"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

func TestPretrainThenClassify(t *testing.T) {
	cfg := pretrainConfig(t)
	// Record the weights the classification stage starts from.
	var first map[string][]float32
	obj := func(m *transformer.Model, threads int) (Objective, error) {
		inner, err := NewClassification(m, threads)
		return objectiveFunc(func(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error) {
			if first == nil {
				first = map[string][]float32{}
				m.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) { first[name] = slices.Clone(p) })
			}
			return inner.Step(ctx, b, g)
		}), err
	}
	res, err := Run(context.Background(), cfg, Options{Objective: obj})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 30 || res.PretrainSteps != 24 || res.DevAccuracy <= 0 {
		t.Fatalf("result %+v", res)
	}
	// The encoder is the pretrained one; pooler and classifier are the
	// fresh initialization.
	pre := weights(t, filepath.Join(cfg.RunDir, PretrainDir))
	if _, ok := pre["bert.pooler.dense.weight"]; ok {
		t.Error("the pretraining checkpoint has a pooler")
	}
	for name, p := range pre {
		if !slices.Equal(p, first[name]) {
			t.Fatalf("classification starts with %s unlike the pretrained encoder", name)
		}
	}
	rc, _ := cfg.Resolved()
	mc, _ := rc.ModelConfig(demoTokenizer(t).VocabSize())
	fresh, _ := initModel(mc, rand.New(rand.NewPCG(rc.Seed, initStream)), rc.Model.InitStd)
	for _, name := range []string{"bert.pooler.dense.weight", "classifier.weight", "classifier.bias"} {
		var want []float32
		fresh.Params(func(n string, _ []int, p []float32, _ transformer.ParamKind) {
			if n == name {
				want = p
			}
		})
		if !slices.Equal(want, first[name]) {
			t.Errorf("%s is not the fresh initialization", name)
		}
	}
	// The MLM head file: Hugging Face names, no tied decoder weight, no
	// optimizer state left once the stage is done.
	f, err := safetensors.ReadFile(filepath.Join(cfg.RunDir, PretrainDir, MLMHeadFile))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ts := range f.Tensors {
		names = append(names, ts.Name)
	}
	slices.Sort(names)
	want := []string{"cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias", "cls.predictions.transform.LayerNorm.weight",
		"cls.predictions.transform.dense.bias", "cls.predictions.transform.dense.weight"}
	if !slices.Equal(names, want) {
		t.Errorf("MLM head tensors %v, want %v", names, want)
	}
	if _, err := os.Stat(filepath.Join(cfg.RunDir, PretrainDir, OptimizerFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("optimizer state left in the finished pretraining checkpoint: %v", err)
	}
	if tok, err := tokenizer.Load(filepath.Join(cfg.RunDir, PretrainDir)); err != nil || tok.VocabSize() != mc.VocabSize {
		t.Errorf("pretraining checkpoint vocabulary: %v", err)
	}
	// A fresh run over it refuses; resuming the finished run reports the
	// stage again.
	if _, err := Run(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "already holds a checkpoint") {
		t.Errorf("second fresh run: %v", err)
	}
	res2, err := Run(context.Background(), cfg, Options{Resume: true})
	if err != nil || res2.PretrainSteps != 24 || res2.PretrainLoss != res.PretrainLoss || res2.ResumedFrom != 30 {
		t.Errorf("resume finished run: %+v, %v", res2, err)
	}
}

// cancelOnLine is a progress writer that cancels when a line contains
// want.
type cancelOnLine struct {
	mu     sync.Mutex
	want   string
	cancel context.CancelFunc
	log    bytes.Buffer
}

func (c *cancelOnLine) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.want != "" && bytes.Contains(p, []byte(c.want)) {
		c.cancel()
	}
	return c.log.Write(p)
}

func TestResumeDuringPretraining(t *testing.T) {
	ref := pretrainConfig(t)
	ref.LogEvery = 1
	if _, err := Run(context.Background(), ref, Options{}); err != nil {
		t.Fatal(err)
	}
	want := weights(t, filepath.Join(ref.RunDir, LastDir))
	wantPre := weights(t, filepath.Join(ref.RunDir, PretrainDir))
	_, wantHead := loadPretrained(t, ref.RunDir)
	for _, tc := range []struct {
		name, line string
		step       int // the pretraining step the checkpoint holds
	}{
		{"mid-epoch", "pretrain step 3/24", 3},
		{"at a checkpoint", "pretrain step 10/24", 10},
		{"last step", "pretrain step 24/24", 24},
		{"after the stage", "pretraining done", 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := pretrainConfig(t)
			cfg.LogEvery = 1
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &cancelOnLine{want: tc.line, cancel: cancel}
			_, err := Run(ctx, cfg, Options{Progress: w})
			if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			st, err := readPretrainState(cfg.RunDir)
			if err != nil || st.Step != tc.step {
				t.Fatalf("pretraining checkpoint %+v, %v; want step %d", st, err, tc.step)
			}
			if tc.name == "after the stage" {
				// Killed before the first classification checkpoint.
				if err := os.RemoveAll(filepath.Join(cfg.RunDir, LastDir)); err != nil {
					t.Fatal(err)
				}
			}
			var log bytes.Buffer
			res, err := Run(context.Background(), cfg, Options{Resume: true, Progress: &log})
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != 30 || res.PretrainSteps != 24 {
				t.Fatalf("result %+v", res)
			}
			if st.Done == strings.Contains(log.String(), "masked-LM pretraining") {
				// A finished stage is not redone; an unfinished one resumes.
				if st.Done {
					t.Errorf("the finished stage ran again:\n%s", log.String())
				} else {
					t.Errorf("no pretraining resumed:\n%s", log.String())
				}
			}
			sameWeights(t, wantPre, weights(t, filepath.Join(cfg.RunDir, PretrainDir)))
			_, head := loadPretrained(t, cfg.RunDir)
			if !slices.Equal(head.Bias, wantHead.Bias) || !slices.Equal(head.Dense.W, wantHead.Dense.W) {
				t.Error("MLM head differs from the uninterrupted run's")
			}
			sameWeights(t, want, weights(t, filepath.Join(cfg.RunDir, LastDir)))
		})
	}
}

func TestPretrainResumeErrors(t *testing.T) {
	cfg := pretrainConfig(t)
	if _, err := Run(context.Background(), cfg, Options{Resume: true}); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("resume without checkpoint: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.LogEvery = 1
	w := &cancelOnLine{want: "pretrain step 2/24", cancel: cancel}
	if _, err := Run(ctx, cfg, Options{Progress: w}); !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	changed := cfg
	p := *cfg.Pretrain
	p.MaskProb = 0.3
	changed.Pretrain = &p
	if _, err := Run(context.Background(), changed, Options{Resume: true}); err == nil || !strings.Contains(err.Error(), "[pretrain]") {
		t.Fatalf("resume with another pretraining config: %v", err)
	}
	if _, err := Run(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "already holds a checkpoint") {
		t.Fatalf("fresh run over a pretraining checkpoint: %v", err)
	}
	missing := cfg
	p2 := *cfg.Pretrain
	p2.Text = []string{filepath.Join(t.TempDir(), "none.txt")}
	missing.Pretrain = &p2
	missing.RunDir = filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), missing, Options{}); err == nil || !strings.Contains(err.Error(), "none.txt") {
		t.Fatalf("missing text file: %v", err)
	}
}

func TestPretrainConfigValidation(t *testing.T) {
	in := `pretrain:
  text: [a.txt, "", "${EDGENAS_NO_SUCH_VAR}/b.txt"]
  steps: -1
  batch_size: -2
  max_seq_len: 1000
  lr: 2
  warmup: 1
  weight_decay: -1
  mask_prob: 1.5
  checkpoint_every: -1
`
	_, err := ParseConfig([]byte(in), "pre.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"pre.yaml:2: pretrain.text: entry 2: empty path",
		"pre.yaml:2: pretrain.text: entry 3: environment variable EDGENAS_NO_SUCH_VAR",
		"pre.yaml:3: pretrain.steps",
		"pre.yaml:4: pretrain.batch_size",
		"pre.yaml:5: pretrain.max_seq_len",
		"pre.yaml:6: pretrain.lr",
		"pre.yaml:7: pretrain.warmup",
		"pre.yaml:8: pretrain.weight_decay",
		"pre.yaml:9: pretrain.mask_prob",
		"pre.yaml:10: pretrain.checkpoint_every",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if _, err := ParseConfig([]byte("pretrain: {steps: 10}\n"), "p.yaml"); err == nil || !strings.Contains(err.Error(), "p.yaml:1: pretrain.text: missing") {
		t.Errorf("no text: %v", err)
	}
	if _, err := ParseConfig([]byte("pretrain: {text: [a.txt], masking: 0.1}\n"), "p.yaml"); err == nil || !strings.Contains(err.Error(), "masking") {
		t.Errorf("unknown key: %v", err)
	}
	// Defaults.
	c, err := ParseConfig([]byte("seed: 7\nbatch_size: 16\npretrain: {text: [a.txt]}\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	p := r.Pretrain
	if p.Steps != DefaultPretrainSteps || p.BatchSize != 16 || p.MaxSeqLen != DefaultPretrainMaxSeqLen || p.LR != DefaultPretrainLR ||
		*p.Warmup != DefaultWarmup || *p.WeightDecay != DefaultWeightDecay || p.MaskProb != DefaultMaskProb || p.Seed != 7 ||
		p.CheckpointEvery != 100 {
		t.Errorf("resolved %+v", p)
	}
	if c.Pretrain.Steps != 0 {
		t.Error("Resolved changed the config it was called on")
	}
	if z, _ := ParseConfig(nil, "z.yaml"); z.Pretrain != nil {
		t.Error("the zero config pretrains")
	}
}
