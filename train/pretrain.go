package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/safetensors"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// Names of the pretraining stage in a run directory: PretrainDir holds
// the pretrained encoder (config.json, model.safetensors, vocab.txt), its
// MLM head in MLMHeadFile (the cls.predictions.* tensors of Hugging Face's
// BertForMaskedLM; the decoder weight is tied to the word embeddings and
// not stored), StateFile and, until the stage is done, OptimizerFile.
const (
	PretrainDir = "pretrain"
	MLMHeadFile = "mlm_head.safetensors"
)

// pretrainStateVersion is the version of the stage's StateFile.
const pretrainStateVersion = 1

// PCG streams of the pretraining stage: the MLM head's initialization, the
// batch order, and the masking (one stream per step, from maskStream+step).
const (
	headStream         = 0x6d6c6d2d68656164 // "mlm-head"
	pretrainDataStream = 0x6d6c6d2d64617461 // "mlm-data"
	maskStream         = 0x6d6c6d2d6d61736b // "mlm-mask"
)

// pretrainState is the position of the pretraining stage, saved in
// PretrainDir/StateFile.
type pretrainState struct {
	Version    int    `json:"version"`
	Step       int    `json:"step"`
	TotalSteps int    `json:"total_steps"`
	Epoch      int    `json:"epoch"`
	Batch      int    `json:"batch"`
	EpochRNG   []byte `json:"epoch_rng"`
	// Done is set once the last step is saved: a resumed run skips the
	// stage.
	Done bool `json:"done"`
	// EMA and EMASteps are the exponential moving average of the MLM loss
	// (biased, decay lossSmoothing) and the number of steps in it.
	EMA      float64 `json:"loss_ema"`
	EMASteps int     `json:"loss_ema_steps"`
	// Tokens counts the real tokens and Predicted the masked positions
	// consumed; Seconds is the wall time over all sessions.
	Tokens    int64   `json:"tokens"`
	Predicted int64   `json:"predicted"`
	Seconds   float64 `json:"seconds"`
	// Config is the resolved config's part that decides the weights.
	Config map[string]any `json:"config"`
}

// loss returns the smoothed MLM loss (0 before the first step).
func (s *pretrainState) loss() float64 {
	if s.EMASteps == 0 {
		return 0
	}
	return s.EMA / (1 - math.Pow(lossSmoothing, float64(s.EMASteps)))
}

// pretrainer is the masked-LM stage of a run.
type pretrainer struct {
	cfg     PretrainConfig // resolved
	dir     string
	enc     *transformer.Model // the trainer's model without pooler and classifier (shared weights)
	head    *MLMHead
	g       *transformer.Model
	gh      *MLMHead
	opt     *AdamW
	state   *pretrainState
	data    *Dataset // nil once the stage is done
	masker  *Masker
	pcg     *rand.PCG
	net     *Net // built at the first step
	threads int

	resumedFrom int
}

// encoderView returns a model sharing m's config, embeddings and layers,
// without pooler and classifier.
func encoderView(m *transformer.Model) *transformer.Model {
	return &transformer.Model{Config: m.Config, Embeddings: m.Embeddings, Layers: m.Layers}
}

// both visits the tensors of a model and then those of an MLM head.
func both(m *transformer.Model, h *MLMHead) paramsFunc {
	return func(visit func(name string, shape []int, p []float32, kind transformer.ParamKind)) {
		m.Params(visit)
		h.Params(visit)
	}
}

// newPretrainer prepares the stage for t's model: from the checkpoint in
// run_dir/pretrain when resume is set and one exists (ErrNoCheckpoint if
// not), else fresh. A stage found done loads the pretrained encoder into
// t.model and reads no text.
func newPretrainer(t *trainer, resume bool) (*pretrainer, error) {
	c := &t.cfg
	p := &pretrainer{cfg: *c.Pretrain, dir: filepath.Join(c.RunDir, PretrainDir), enc: encoderView(t.model), threads: c.Threads}
	p.head = NewMLMHead(t.model.Config, rand.New(rand.NewPCG(p.cfg.Seed, headStream)), c.Model.InitStd)
	p.opt = newAdamW(both(p.enc, p.head), AdamWConfig{
		LR: p.cfg.LR, WeightDecay: *p.cfg.WeightDecay, Clip: *c.Clip,
		WarmupSteps: int(math.Round(*p.cfg.Warmup * float64(p.cfg.Steps))), TotalSteps: p.cfg.Steps,
	})
	fp := c.fingerprint()
	if resume {
		if err := p.load(fp); err != nil {
			return nil, err
		}
	} else {
		p.state = &pretrainState{Version: pretrainStateVersion, TotalSteps: p.cfg.Steps, Config: fp}
		p.pcg = rand.NewPCG(p.cfg.Seed, pretrainDataStream)
	}
	if p.state.Done {
		return p, nil
	}
	var err error
	if p.masker, err = NewMasker(t.tok, p.cfg.MaskProb); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if p.data, err = loadPretrainText(t.tok, &p.cfg); err != nil {
		return nil, err
	}
	p.g, p.gh = NewGrads(p.enc), NewMLMGrads(p.head)
	return p, nil
}

// load restores the stage from its checkpoint directory.
func (p *pretrainer) load(fp map[string]any) error {
	dir := p.dir
	if err := recoverDir(dir); err != nil {
		return err
	}
	path := filepath.Join(dir, StateFile)
	sp, err := readPretrainState(filepath.Dir(dir))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", dir, ErrNoCheckpoint)
	} else if err != nil {
		return err
	}
	st := *sp
	switch {
	case st.Version != pretrainStateVersion:
		return fmt.Errorf("%s: version %d, want %d", path, st.Version, pretrainStateVersion)
	case st.Step < 0 || st.Epoch < 0 || st.Batch < 0 || st.TotalSteps < st.Step:
		return fmt.Errorf("%s: step %d of %d, epoch %d, batch %d: want non-negative counts with step ≤ total_steps", path, st.Step, st.TotalSteps, st.Epoch, st.Batch)
	}
	if diff := configDiff(st.Config, fp); len(diff) > 0 {
		return fmt.Errorf("resume %s: the config differs from the checkpoint's in %v", dir, diff)
	}
	if st.TotalSteps != p.cfg.Steps {
		return fmt.Errorf("resume %s: checkpoint planned %d pretraining steps, this config %d", dir, st.TotalSteps, p.cfg.Steps)
	}
	m, err := transformer.Load(dir)
	if err != nil {
		return err
	}
	if err := loadParams(p.enc, m); err != nil {
		return fmt.Errorf("resume %s: %w", dir, err)
	}
	if err := readMLMHead(filepath.Join(dir, MLMHeadFile), p.head); err != nil {
		return err
	}
	p.pcg = &rand.PCG{}
	if !st.Done {
		optPath := filepath.Join(dir, OptimizerFile)
		f, err := safetensors.ReadFile(optPath)
		if err != nil {
			return err
		}
		if err := p.opt.Restore(f); err != nil {
			return fmt.Errorf("%s: %w", optPath, err)
		}
		if p.opt.Steps() != st.Step {
			return fmt.Errorf("%s: optimizer at step %d, state.json at step %d", dir, p.opt.Steps(), st.Step)
		}
		if len(st.EpochRNG) > 0 {
			if err := p.pcg.UnmarshalBinary(st.EpochRNG); err != nil {
				return fmt.Errorf("resume %s: data generator state: %w", dir, err)
			}
		} else if st.Step > 0 {
			return fmt.Errorf("resume %s: %s has no data generator state", dir, StateFile)
		} else {
			p.pcg = rand.NewPCG(p.cfg.Seed, pretrainDataStream)
		}
	}
	p.state, p.resumedFrom = &st, st.Step
	return nil
}

// loadParams copies src's parameters into dst, which must have the same
// tensors (names and sizes) in the same order.
func loadParams(dst, src *transformer.Model) error {
	type tensor struct {
		name string
		p    []float32
	}
	var s []tensor
	src.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) { s = append(s, tensor{name, p}) })
	var errs []error
	i := 0
	dst.Params(func(name string, _ []int, p []float32, _ transformer.ParamKind) {
		switch {
		case i >= len(s):
			errs = append(errs, fmt.Errorf("tensor %s missing", name))
		case s[i].name != name || len(s[i].p) != len(p):
			errs = append(errs, fmt.Errorf("tensor %d is %s with %d values, want %s with %d", i, s[i].name, len(s[i].p), name, len(p)))
		default:
			copy(p, s[i].p)
		}
		i++
	})
	if i < len(s) {
		errs = append(errs, fmt.Errorf("%d tensors, want %d", len(s), i))
	}
	if len(errs) > maxReportedProblems {
		errs = errs[:maxReportedProblems]
	}
	return errors.Join(errs...)
}

// writeMLMHead writes h's tensors (cls.predictions.*) to path.
func writeMLMHead(path string, h *MLMHead) error {
	var ts []safetensors.Tensor
	h.Params(func(name string, shape []int, p []float32, _ transformer.ParamKind) {
		ts = append(ts, safetensors.FromFloat32(name, shape, p))
	})
	return safetensors.WriteFile(path, ts, map[string]string{"format": "pt"})
}

// readMLMHead reads the tensors of h from a file written by writeMLMHead;
// every tensor is checked before h changes.
func readMLMHead(path string, h *MLMHead) error {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return err
	}
	var errs []error
	var dst [][]float32
	var src [][]float32
	h.Params(func(name string, shape []int, p []float32, _ transformer.ParamKind) {
		t, ok := f.Get(name)
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %q: missing", name))
			return
		}
		if !slices.Equal(t.Shape, shape) {
			errs = append(errs, fmt.Errorf("tensor %q: shape %v, want %v", name, t.Shape, shape))
			return
		}
		data, err := t.Float32()
		if err != nil {
			errs = append(errs, fmt.Errorf("tensor %q: %w", name, err))
			return
		}
		dst, src = append(dst, p), append(src, data)
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for i := range dst {
		copy(dst[i], src[i])
	}
	return nil
}

// save writes the stage's checkpoint directory as a whole (see replaceDir).
func (p *pretrainer) save(tok *tokenizer.Tokenizer) error {
	return replaceDir(p.dir, func(tmp string) error {
		if err := p.enc.Save(tmp); err != nil {
			return err
		}
		if err := tok.WriteVocab(filepath.Join(tmp, tokenizer.VocabFile)); err != nil {
			return err
		}
		if err := writeMLMHead(filepath.Join(tmp, MLMHeadFile), p.head); err != nil {
			return err
		}
		if !p.state.Done {
			ts, meta := p.opt.Tensors()
			if err := safetensors.WriteFile(filepath.Join(tmp, OptimizerFile), ts, meta); err != nil {
				return err
			}
		}
		return writeJSON(filepath.Join(tmp, StateFile), p.state)
	})
}

// pretrain runs the stage to its end (or until ctx is cancelled, after
// saving: the error wraps ErrInterrupted), saving a checkpoint every
// checkpoint_every steps and at the end with Done set.
func (t *trainer) pretrain(ctx context.Context) error {
	p, st, c := t.pre, t.pre.state, &t.cfg
	prog := NewProgress(progressWriter(t.opts.Progress), st.TotalSteps, st.Step, t.opts.Terminal, c.LogEvery)
	prog.label, prog.lossName, prog.accName = "pretrain ", "MLM loss", "masked acc"
	if p.resumedFrom > 0 {
		prog.Printf("resuming masked-LM pretraining %s at step %d of %d", p.dir, st.Step, st.TotalSteps)
	} else {
		prog.Printf("masked-LM pretraining on %d sequences of up to %d tokens, %d steps of %d, mask %.2f",
			p.data.Len(), p.cfg.MaxSeqLen, st.TotalSteps, p.cfg.BatchSize, p.cfg.MaskProb)
	}
	start := time.Now()
	prior := st.Seconds
	saved := -1
	if p.resumedFrom > 0 {
		saved = st.Step
	}
	save := func() error {
		if saved == st.Step && !st.Done {
			return nil
		}
		st.Seconds = prior + time.Since(start).Seconds()
		if err := p.save(t.tok); err != nil {
			return fmt.Errorf("save pretraining checkpoint at step %d: %w", st.Step, err)
		}
		saved = st.Step
		return nil
	}
	fail := func(err error) error {
		prog.Done()
		return err
	}
	diverged := func(cause error) error {
		where := "no pretraining checkpoint was written"
		if saved >= 0 {
			where = fmt.Sprintf("the last good pretraining checkpoint is %s (step %d)", p.dir, saved)
		}
		return fail(fmt.Errorf("pretraining step %d: %w: %w; %s", st.Step+1, cause, ErrDiverged, where))
	}
	rng := rand.New(p.pcg)
	var targets []int
	for st.Step < st.TotalSteps {
		if st.Batch == 0 || st.EpochRNG == nil {
			epochRNG, err := p.pcg.MarshalBinary()
			if err != nil {
				return fail(err)
			}
			st.EpochRNG = epochRNG
		}
		plan := p.data.Plan(rng, p.cfg.BatchSize)
		for st.Batch < len(plan) && st.Step < st.TotalSteps {
			if ctx.Err() != nil {
				if err := save(); err != nil {
					return fail(errors.Join(fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err()), err))
				}
				prog.Done()
				prog.Printf("pretraining interrupted at step %d of %d; its checkpoint is %s (resume to continue)", st.Step, st.TotalSteps, p.dir)
				return fmt.Errorf("%w at pretraining step %d: %w", ErrInterrupted, st.Step, ctx.Err())
			}
			b := p.data.Batch(plan[st.Batch])
			targets = p.masker.Mask(rand.New(rand.NewPCG(p.cfg.Seed, maskStream+uint64(st.Step))), &b.Tokens, targets)
			loss, correct, err := p.pretrainStep(&b.Tokens, targets)
			if err != nil {
				return fail(fmt.Errorf("pretraining step %d: %w", st.Step+1, err))
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) || loss > c.MaxLoss {
				return diverged(fmt.Errorf("MLM loss %v (max_loss %v)", loss, c.MaxLoss))
			}
			if _, err := p.opt.update(both(p.g, p.gh)); err != nil {
				if errors.Is(err, ErrNonFinite) {
					return diverged(err)
				}
				return fail(fmt.Errorf("pretraining step %d: %w", st.Step+1, err))
			}
			clearParams(p.g)
			p.gh.Params(func(_ string, _ []int, g []float32, _ transformer.ParamKind) { clear(g) })
			n, predicted := 0, 0
			for _, l := range b.Tokens.Lengths {
				n += l
			}
			for _, y := range targets {
				if y >= 0 {
					predicted++
				}
			}
			st.Step++
			st.Batch++
			st.Tokens += int64(n)
			st.Predicted += int64(predicted)
			st.EMA = lossSmoothing*st.EMA + (1-lossSmoothing)*loss
			st.EMASteps++
			prog.Step(st.Step, loss, correct, predicted, n)
			if st.Step%p.cfg.CheckpointEvery == 0 && st.Step < st.TotalSteps {
				if err := save(); err != nil {
					return fail(err)
				}
			}
		}
		if st.Batch >= len(plan) {
			st.Epoch++
			st.Batch = 0
			st.EpochRNG = nil
		}
	}
	st.Done = true
	if err := save(); err != nil {
		return fail(err)
	}
	prog.Done()
	prog.Printf("pretraining done: %d steps, MLM loss %.4f, %.0f s; encoder and MLM head in %s", st.Step, st.loss(), st.Seconds, p.dir)
	p.data, p.g, p.gh = nil, nil, nil // free the text and the gradients
	return nil
}

// progressWriter returns w, or io.Discard when w is nil.
func progressWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// pretrainStep runs one MLM forward and backward pass into the stage's
// gradient accumulators.
func (p *pretrainer) pretrainStep(b *tokenizer.Batch, targets []int) (loss float64, correct int, err error) {
	if p.net == nil {
		p.net = NewNet(p.enc, p.threads)
	}
	return p.net.MLMStep(b, targets, p.head, p.g, p.gh)
}

// readPretrainState reads the state of the pretraining stage of runDir.
func readPretrainState(runDir string) (*pretrainState, error) {
	path := filepath.Join(runDir, PretrainDir, StateFile)
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "a pretraining state")
	if err != nil {
		return nil, err
	}
	var st pretrainState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}
