package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/edgenas/edgenas/train/demotask"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// Objective computes the loss of one batch and adds its gradient with
// respect to the model's parameters into g (a zeroed model of the same
// layout, e.g. from NewGrads). The training loop owns the model and g; an
// Objective must not keep them beyond the call.
type Objective interface {
	Step(ctx context.Context, b *Batch, g *transformer.Model) (StepResult, error)
}

// StepResult is what an Objective reports for one batch.
type StepResult struct {
	// Loss is the mean loss over the batch.
	Loss float64
	// Correct is the number of rows the model classified right (before the
	// update); progress reports show it as the training accuracy.
	Correct int
}

// NewObjectiveFunc builds the objective for the model being trained,
// running on threads threads.
type NewObjectiveFunc func(m *transformer.Model, threads int) (Objective, error)

// Options are the run-time settings of Run that are not part of the
// training config. The zero value runs the classification objective
// silently on a fresh run directory.
type Options struct {
	// Resume continues from the last checkpoint of the run directory, which
	// must exist. Without it, a run directory that already holds a
	// checkpoint is an error (nothing is overwritten).
	Resume bool
	// Objective builds the loss and gradient; nil means
	// NewClassification.
	Objective NewObjectiveFunc
	// Progress receives progress reports (nil: none).
	Progress io.Writer
	// Terminal redraws one progress line in place instead of logging every
	// log_every steps (see IsTerminal).
	Terminal bool
	// Init starts training from this model's weights (a compressed student
	// to recover, say) instead of the config's fresh initialization; its
	// vocabulary must be the data's. Run trains it in place. The config's
	// model section is then ignored.
	Init *transformer.Model
}

// Result summarizes a run.
type Result struct {
	// DevAccuracy is the best dev accuracy, that of the best checkpoint.
	DevAccuracy float64 `json:"dev_accuracy"`
	// BestStep is the step the best checkpoint was taken at.
	BestStep int `json:"best_step"`
	// FinalDevAccuracy is the dev accuracy after the last step.
	FinalDevAccuracy float64 `json:"final_dev_accuracy"`
	// BaselineAccuracy is the dev accuracy of the bag-of-words baseline
	// (demotask.TrainBoW on the training texts); nil unless the task is
	// binary and the run finished.
	BaselineAccuracy *float64 `json:"baseline_accuracy"`
	// TrainSeconds is the wall time of training (evaluations and
	// checkpoints included), summed over resumed sessions.
	TrainSeconds float64 `json:"train_seconds"`
	// Examples and DevExamples are the sizes of the two splits.
	Examples    int `json:"examples"`
	DevExamples int `json:"dev_examples"`
	// Steps is the number of optimizer steps done, of TotalSteps.
	Steps      int `json:"steps"`
	TotalSteps int `json:"total_steps"`
	// ResumedFrom is the step the run resumed at (0: a fresh run).
	ResumedFrom int `json:"resumed_from"`
	// Loss is the smoothed training loss at the end.
	Loss float64 `json:"loss"`
	// TokensPerSecond is the training throughput of this session.
	TokensPerSecond float64 `json:"tokens_per_second"`
	// Params is the number of model parameters.
	Params int `json:"params"`
	// Checkpoint is the best checkpoint directory; LastCheckpoint the one
	// Resume continues from.
	Checkpoint     string `json:"checkpoint"`
	LastCheckpoint string `json:"last_checkpoint"`
	// PretrainSteps, PretrainLoss (the smoothed MLM loss at the end) and
	// PretrainSeconds (wall time over all sessions) describe the masked-LM
	// pretraining stage; all zero when the config has none.
	// PretrainCheckpoint is its directory: the pretrained encoder and MLM
	// head.
	PretrainSteps      int     `json:"pretrain_steps,omitempty"`
	PretrainLoss       float64 `json:"pretrain_loss,omitempty"`
	PretrainSeconds    float64 `json:"pretrain_seconds,omitempty"`
	PretrainCheckpoint string  `json:"pretrain_checkpoint,omitempty"`
}

// ErrDiverged is returned when the training loss or the gradient becomes
// NaN, infinite or larger than the config's max_loss; the last good
// checkpoint is left in place.
var ErrDiverged = errors.New("training diverged")

// ErrInterrupted is returned (wrapping the context's error) when the
// context is cancelled: the run stopped after saving its last checkpoint
// and continues with Options.Resume.
var ErrInterrupted = errors.New("training interrupted")

// PCG stream constants: weight initialization and batch order draw from
// their own streams of the seed.
const (
	initStream = 0x696e69742d776774 // "init-wgt"
	dataStream = 0x646174612d6f7264 // "data-ord"
)

// evalBatchSize is the number of dev examples per evaluation batch.
const evalBatchSize = 64

// Run trains a classifier from scratch as cfg describes, first pretraining
// the encoder with the masked-LM objective when cfg has a pretrain section
// (its checkpoint, the pretrained encoder and MLM head, in run_dir/pretrain;
// the classification stage then starts from that encoder with a fresh
// pooler and classifier), evaluating on the
// dev split every eval_every steps, keeping the best checkpoint in
// run_dir/best and the latest in run_dir/last. It returns when the run is
// done, when ctx is cancelled (after saving; the error wraps
// ErrInterrupted) or when training diverges (ErrDiverged, keeping the last
// good checkpoint). The same config and seed give the same weights, whether
// or not the run was interrupted and resumed.
func Run(ctx context.Context, cfg Config, opts Options) (*Result, error) {
	rc, err := cfg.Resolved()
	if err != nil {
		return nil, err
	}
	tr, err := newTrainer(rc, opts)
	if err != nil {
		return nil, err
	}
	return tr.run(ctx)
}

// trainer is one session of a run.
type trainer struct {
	cfg       Config
	opts      Options
	tok       *tokenizer.Tokenizer
	trainEx   []Example
	devEx     []Example
	train     *Dataset
	dev       *Dataset
	total     int
	evalEvery int
	ckptEvery int

	model *transformer.Model
	grads *transformer.Model
	opt   *AdamW
	obj   Objective
	state *trainState
	pcg   *rand.PCG
	prog  *Progress
	pre   *pretrainer // nil without a pretraining stage

	resumedFrom int
}

// loadData reads or generates the splits and the tokenizer of c.
func loadData(c Config) (tok *tokenizer.Tokenizer, train, dev []Example, err error) {
	if c.Data.Demo != nil {
		train, dev, err = DemoExamples(c.Data.Demo.Generator())
	} else {
		if train, err = ReadTSV(c.Data.Train, c.Data.NumLabels); err == nil {
			dev, err = ReadTSV(c.Data.Dev, c.Data.NumLabels)
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	for _, split := range []struct {
		name, file string
		n          int
	}{{"train", c.Data.Train, len(train)}, {"dev", c.Data.Dev, len(dev)}} {
		if split.n > 0 {
			continue
		}
		if split.file == "" {
			split.file = "the demo data"
		}
		return nil, nil, nil, fmt.Errorf("data.%s: %s holds no examples (only a header or blank lines?): %w", split.name, split.file, ErrData)
	}
	if c.Model.Vocab != "" {
		tok, err = tokenizer.LoadVocab(c.Model.Vocab, tokenizer.DefaultOptions())
	} else {
		tok, err = tokenizer.New(DemoVocab(), tokenizer.DefaultOptions())
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("model.vocab: %w", err)
	}
	return tok, train, dev, nil
}

func newTrainer(c Config, opts Options) (*trainer, error) {
	t := &trainer{cfg: c, opts: opts}
	var err error
	if t.tok, t.trainEx, t.devEx, err = loadData(c); err != nil {
		return nil, err
	}
	t.train = NewDataset(t.tok, t.trainEx, c.MaxSeqLen)
	t.dev = NewDataset(t.tok, t.devEx, c.MaxSeqLen)

	perEpoch := (t.train.Len() + c.BatchSize - 1) / c.BatchSize
	t.total = c.Epochs * perEpoch
	if c.MaxSteps > 0 && (c.Epochs == 0 || c.MaxSteps < t.total) {
		t.total = c.MaxSteps
	}
	t.evalEvery = c.EvalEvery
	if t.evalEvery == 0 {
		t.evalEvery = max(1, t.total/10)
	}
	t.ckptEvery = cmpOr(c.CheckpointEvery, t.evalEvery)

	newOpt := func(m *transformer.Model) *AdamW {
		return NewAdamW(m, AdamWConfig{
			LR: c.LR, WeightDecay: *c.WeightDecay, Clip: *c.Clip,
			WarmupSteps: int(math.Round(*c.Warmup * float64(t.total))), TotalSteps: t.total,
		})
	}
	last := filepath.Join(c.RunDir, LastDir)
	// A run resumed before its first classification checkpoint continues
	// (or has just finished) its pretraining stage.
	resumePretrain := false
	if opts.Resume && c.Pretrain != nil {
		if err := recoverDir(last); err != nil {
			return nil, err
		}
		_, err := os.Stat(filepath.Join(last, StateFile))
		resumePretrain = errors.Is(err, os.ErrNotExist)
	}
	if opts.Resume && !resumePretrain {
		m, o, st, err := loadLast(c.RunDir, newOpt)
		if err != nil {
			return nil, err
		}
		if diff := configDiff(st.Config, c.fingerprint()); len(diff) > 0 {
			return nil, fmt.Errorf("resume %s: the config differs from the checkpoint's in %v", last, diff)
		}
		if st.TotalSteps != t.total {
			return nil, fmt.Errorf("resume %s: checkpoint planned %d steps, this config %d", last, st.TotalSteps, t.total)
		}
		if st.Step > 0 && len(st.EpochRNG) == 0 {
			return nil, fmt.Errorf("resume %s: %s has no data generator state", last, StateFile)
		}
		if want := t.tok.VocabSize(); m.Config.VocabSize != want {
			return nil, fmt.Errorf("resume %s: vocabulary of %d tokens, the config's has %d", last, m.Config.VocabSize, want)
		}
		t.model, t.opt, t.state, t.resumedFrom = m, o, st, st.Step
		t.pcg = &rand.PCG{}
		if len(st.EpochRNG) > 0 {
			if err := t.pcg.UnmarshalBinary(st.EpochRNG); err != nil {
				return nil, fmt.Errorf("resume %s: data generator state: %w", last, err)
			}
		}
	} else {
		if !opts.Resume {
			for _, dir := range []string{last, filepath.Join(c.RunDir, PretrainDir)} {
				if _, err := os.Stat(dir); err == nil {
					return nil, fmt.Errorf("%s already holds a checkpoint: resume it or choose another run directory", dir)
				}
			}
		}
		if opts.Init != nil {
			if got, want := opts.Init.Config.VocabSize, t.tok.VocabSize(); got != want {
				return nil, fmt.Errorf("initial model: vocabulary of %d tokens, the data's has %d", got, want)
			}
			t.model = opts.Init
		} else {
			mc, err := c.ModelConfig(t.tok.VocabSize())
			if err != nil {
				return nil, fmt.Errorf("model: %w", err)
			}
			mc.PadTokenID = int(t.tok.PadID())
			if t.model, err = initModel(mc, rand.New(rand.NewPCG(c.Seed, initStream)), c.Model.InitStd); err != nil {
				return nil, fmt.Errorf("model: %w", err)
			}
		}
		t.opt = newOpt(t.model)
		t.pcg = rand.NewPCG(c.Seed, dataStream)
		t.state = &trainState{Version: stateVersion, TotalSteps: t.total, Config: c.fingerprint()}
	}
	if e := t.model.Config.Edgenas; e == nil {
		mc := &t.model.Config
		mc.Edgenas = &transformer.EdgenasConfig{Version: transformer.ConfigVersion, AttentionHeadSize: mc.HeadSize()}
		for i := 0; i < mc.NumHiddenLayers; i++ {
			mc.Edgenas.Layers = append(mc.Edgenas.Layers, mc.Layer(i))
		}
	}
	if opts.Init == nil {
		t.model.Config.Edgenas.Provenance = Provenance
	} else if p := t.model.Config.Edgenas.Provenance; !strings.HasSuffix(p, fineTuned) {
		t.model.Config.Edgenas.Provenance = p + fineTuned
	}
	if c.Pretrain != nil {
		if resumePretrain || !opts.Resume {
			if t.pre, err = newPretrainer(t, resumePretrain); err != nil {
				return nil, err
			}
		} else if st, err := readPretrainState(c.RunDir); err == nil {
			t.pre = &pretrainer{state: st, dir: filepath.Join(c.RunDir, PretrainDir)} // for the result only
		}
	}
	t.grads = NewGrads(t.model)
	newObj := opts.Objective
	if newObj == nil {
		newObj = NewClassification
	}
	if t.obj, err = newObj(t.model, c.Threads); err != nil {
		return nil, err
	}
	return t, nil
}

// fineTuned ends the provenance of a model Run trained from given weights.
const fineTuned = "; fine-tuned by edgenas"

// configDiff lists the top-level keys whose values differ between a and b.
func configDiff(a, b map[string]any) []string {
	var diff []string
	for k, v := range a {
		if !reflect.DeepEqual(v, b[k]) {
			diff = append(diff, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	return diff
}

// initModel returns a model of cfg's shape initialized as BERT is: weight
// matrices and embeddings from N(0, std²) drawn from rng, the padding
// token's embedding 0, biases 0, LayerNorm the identity.
func initModel(cfg transformer.Config, rng *rand.Rand, std float64) (*transformer.Model, error) {
	m, err := transformer.NewModel(cfg, true)
	if err != nil {
		return nil, err
	}
	m.Params(func(_ string, _ []int, p []float32, kind transformer.ParamKind) {
		if kind == transformer.ParamWeight {
			for i := range p {
				p[i] = float32(rng.NormFloat64() * std)
			}
		}
	})
	h := cfg.HiddenSize
	clear(m.Embeddings.Word[cfg.PadTokenID*h : (cfg.PadTokenID+1)*h])
	return m, nil
}

// clearParams sets every parameter of g to 0.
func clearParams(g *transformer.Model) {
	g.Params(func(_ string, _ []int, p []float32, _ transformer.ParamKind) { clear(p) })
}

func (t *trainer) run(ctx context.Context) (*Result, error) {
	if t.pre != nil && !t.pre.state.Done {
		if err := t.pretrain(ctx); err != nil {
			return nil, err
		}
	}
	c := &t.cfg
	st := t.state
	w := t.opts.Progress
	if w == nil {
		w = io.Discard
	}
	t.prog = NewProgress(w, t.total, st.Step, t.opts.Terminal, c.LogEvery)
	if t.resumedFrom > 0 {
		t.prog.Printf("resuming %s at step %d of %d", filepath.Join(c.RunDir, LastDir), st.Step, t.total)
	} else {
		t.prog.Printf("training %d parameters on %d examples (%d dev), %d steps, run directory %s",
			t.model.NumParams(), t.train.Len(), t.dev.Len(), t.total, c.RunDir)
	}
	start := time.Now()
	priorSeconds := st.Seconds
	var tokens int64
	elapsed := func() float64 { return priorSeconds + time.Since(start).Seconds() }
	savedStep := -1
	if t.resumedFrom > 0 {
		savedStep = st.Step
	}
	save := func() error {
		if savedStep == st.Step {
			return nil
		}
		st.Seconds = elapsed()
		if err := t.saveLast(); err != nil {
			return fmt.Errorf("save checkpoint at step %d: %w", st.Step, err)
		}
		savedStep = st.Step
		return nil
	}
	interrupted := func() (*Result, error) {
		err := save()
		t.prog.Done()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err()), err)
		}
		t.prog.Printf("interrupted at step %d of %d; the last checkpoint is %s (resume to continue)", st.Step, t.total, filepath.Join(c.RunDir, LastDir))
		return t.result(elapsed(), tokens, start), fmt.Errorf("%w at step %d: %w", ErrInterrupted, st.Step, ctx.Err())
	}
	diverged := func(cause error) (*Result, error) {
		t.prog.Done()
		where := "no checkpoint was written"
		if savedStep >= 0 {
			where = fmt.Sprintf("the last good checkpoint is %s (step %d)", filepath.Join(c.RunDir, LastDir), savedStep)
		}
		return nil, fmt.Errorf("step %d: %w: %w; %s", st.Step+1, cause, ErrDiverged, where)
	}

	rng := rand.New(t.pcg)
	for st.Step < t.total {
		if st.Batch == 0 || st.EpochRNG == nil {
			epochRNG, err := t.pcg.MarshalBinary()
			if err != nil {
				return nil, err
			}
			st.EpochRNG = epochRNG
		}
		plan := t.train.Plan(rng, c.BatchSize)
		for st.Batch < len(plan) && st.Step < t.total {
			if ctx.Err() != nil {
				return interrupted()
			}
			b := t.train.Batch(plan[st.Batch])
			res, err := t.obj.Step(ctx, b, t.grads)
			if err != nil {
				clearParams(t.grads)
				if ctx.Err() != nil {
					return interrupted()
				}
				t.prog.Done()
				return nil, fmt.Errorf("step %d: %w", st.Step+1, err)
			}
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) || res.Loss > c.MaxLoss {
				return diverged(fmt.Errorf("loss %v (max_loss %v)", res.Loss, c.MaxLoss))
			}
			if _, err := t.opt.Step(t.grads); err != nil {
				if errors.Is(err, ErrNonFinite) {
					return diverged(err)
				}
				return nil, fmt.Errorf("step %d: %w", st.Step+1, err)
			}
			clearParams(t.grads)
			n := 0
			for _, l := range b.Tokens.Lengths {
				n += l
			}
			st.Step++
			st.Batch++
			st.Tokens += int64(n)
			st.Examples += int64(b.Tokens.Size)
			tokens += int64(n)
			t.prog.Step(st.Step, res.Loss, res.Correct, b.Tokens.Size, n)

			if st.Step%t.evalEvery == 0 || st.Step == t.total {
				if err := t.evaluate(elapsed()); err != nil {
					t.prog.Done()
					return nil, err
				}
			}
			if st.Step%t.ckptEvery == 0 || st.Step == t.total {
				if err := save(); err != nil {
					t.prog.Done()
					return nil, err
				}
			}
		}
		if st.Batch >= len(plan) {
			st.Epoch++
			st.Batch = 0
			st.EpochRNG = nil
		}
	}
	if err := save(); err != nil {
		t.prog.Done()
		return nil, err
	}
	t.prog.Done()
	res := t.result(elapsed(), tokens, start)
	if t.cfg.Data.NumLabels == 2 {
		acc := t.baseline()
		res.BaselineAccuracy = &acc
	}
	return res, nil
}

// result summarizes the run so far.
func (t *trainer) result(seconds float64, tokens int64, start time.Time) *Result {
	st := t.state
	r := &Result{
		DevAccuracy:      st.BestAccuracy,
		BestStep:         st.BestStep,
		FinalDevAccuracy: st.LastAccuracy,
		TrainSeconds:     seconds,
		Examples:         t.train.Len(),
		DevExamples:      t.dev.Len(),
		Steps:            st.Step,
		TotalSteps:       t.total,
		ResumedFrom:      t.resumedFrom,
		Loss:             t.prog.Loss(),
		Params:           t.model.NumParams(),
		LastCheckpoint:   filepath.Join(t.cfg.RunDir, LastDir),
	}
	if math.IsNaN(r.Loss) {
		r.Loss = 0
	}
	if p := t.pre; p != nil {
		r.PretrainSteps, r.PretrainLoss, r.PretrainSeconds = p.state.Step, p.state.loss(), p.state.Seconds
		r.PretrainCheckpoint = p.dir
	}
	if st.BestStep > 0 {
		r.Checkpoint = filepath.Join(t.cfg.RunDir, BestDir)
	}
	if s := time.Since(start).Seconds(); s > 0 {
		r.TokensPerSecond = float64(tokens) / s
	}
	return r
}

// baseline trains the bag-of-words baseline on the training texts and
// returns its dev accuracy.
func (t *trainer) baseline() float64 {
	conv := func(ex []Example) []demotask.Example {
		out := make([]demotask.Example, len(ex))
		for i, e := range ex {
			out[i] = demotask.Example{Text: e.Text, Label: e.Label}
		}
		return out
	}
	return demotask.TrainBoW(conv(t.trainEx), 0, t.cfg.Seed).Accuracy(conv(t.devEx))
}

// evaluate measures dev accuracy and writes the best checkpoint when it
// improves.
func (t *trainer) evaluate(seconds float64) error {
	st := t.state
	acc, err := Evaluate(t.model, t.dev, t.cfg.Threads)
	if err != nil {
		return fmt.Errorf("evaluate at step %d: %w", st.Step, err)
	}
	st.LastAccuracy = acc
	best := st.BestStep == 0 || acc > st.BestAccuracy
	if best {
		ck := &checkpoint{model: t.model, tok: t.tok, info: t.info(acc, seconds)}
		if err := ck.write(filepath.Join(t.cfg.RunDir, BestDir)); err != nil {
			return fmt.Errorf("save best checkpoint at step %d: %w", st.Step, err)
		}
		st.BestAccuracy, st.BestStep = acc, st.Step
	}
	t.prog.Eval(st.Step, acc, best)
	return nil
}

func (t *trainer) info(acc, seconds float64) trainingInfo {
	return trainingInfo{
		Provenance: Provenance, Step: t.state.Step, TotalSteps: t.total, DevAccuracy: acc,
		Examples: t.train.Len(), DevExamples: t.dev.Len(), Seconds: seconds, Config: t.cfg,
	}
}

// saveLast writes the last checkpoint: model, optimizer state and position.
func (t *trainer) saveLast() error {
	ck := &checkpoint{model: t.model, tok: t.tok, info: t.info(t.state.LastAccuracy, t.state.Seconds), opt: t.opt, state: t.state}
	return ck.write(filepath.Join(t.cfg.RunDir, LastDir))
}

// Evaluate returns the accuracy of m's classifier on d: the argmax of the
// logits of Predict.
func Evaluate(m *transformer.Model, d *Dataset, threads int) (float64, error) {
	if d.Len() == 0 {
		return 0, nil
	}
	logits, err := Predict(m, d, threads)
	if err != nil {
		return 0, err
	}
	k := len(logits) / d.Len()
	right := 0
	for i, label := range d.labels {
		if argmaxRow(logits[i*k:(i+1)*k]) == label {
			right++
		}
	}
	return float64(right) / float64(d.Len()), nil
}

// Predict returns the classifier's logits for every example of d, in d's
// order (row i of width num_labels is example i): forward passes in
// batches of 64 of similar length on threads threads. It re-packs m's
// weights first (Prepare), so it sees their current values.
func Predict(m *transformer.Model, d *Dataset, threads int) ([]float32, error) {
	if m.Classifier == nil {
		return nil, errors.New("predict: the model has no classifier")
	}
	k := m.Classifier.Out
	logits := make([]float32, d.Len()*k)
	m.Prepare()
	s := m.NewSession(threads)
	for _, idx := range d.evalBatches(evalBatchSize) {
		b := d.Batch(idx)
		out, err := s.Run(&b.Tokens)
		if err != nil {
			return nil, err
		}
		for r, i := range idx {
			copy(logits[i*k:(i+1)*k], out.Logits[r*k:(r+1)*k])
		}
	}
	return logits, nil
}

// argmaxRow returns the index of the largest value (the first on ties).
func argmaxRow(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
