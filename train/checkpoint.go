package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/safetensors"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// Names inside a run directory. LastDir and BestDir are model directories
// in the Hugging Face layout (config.json, model.safetensors, vocab.txt)
// plus TrainingFile; LastDir also holds OptimizerFile and StateFile, from
// which a killed run resumes.
const (
	LastDir       = "last"
	BestDir       = "best"
	TrainingFile  = "training.json"
	OptimizerFile = "optimizer.safetensors"
	StateFile     = "state.json"
)

// stateVersion is the version of StateFile this package writes.
const stateVersion = 1

// ErrNoCheckpoint is returned when a run is resumed from a directory without
// a last checkpoint.
var ErrNoCheckpoint = errors.New("no checkpoint to resume from")

// trainState is the position of a run, saved in StateFile: enough, with the
// model and the optimizer state, to continue a killed run exactly where the
// last checkpoint left it.
type trainState struct {
	Version int `json:"version"`
	// Step is the number of optimizer steps done; TotalSteps the run's length.
	Step       int `json:"step"`
	TotalSteps int `json:"total_steps"`
	// Epoch is the current epoch (0-based) and Batch the number of its
	// batches done; EpochRNG is the data generator's state at the start of
	// the epoch, from which the epoch's batch plan is drawn again.
	Epoch    int    `json:"epoch"`
	Batch    int    `json:"batch"`
	EpochRNG []byte `json:"epoch_rng"`
	// BestAccuracy is the best dev accuracy so far, at BestStep (0: none).
	BestAccuracy float64 `json:"best_accuracy"`
	BestStep     int     `json:"best_step"`
	// LastAccuracy is the latest dev accuracy.
	LastAccuracy float64 `json:"last_accuracy"`
	// Tokens and Examples count what training has consumed.
	Tokens   int64 `json:"tokens"`
	Examples int64 `json:"examples"`
	// Seconds is the wall time spent training so far, over all sessions.
	Seconds float64 `json:"seconds"`
	// Config is the resolved config's part that decides the weights.
	Config map[string]any `json:"config"`
}

// trainingInfo is TrainingFile: how the model beside it was made.
type trainingInfo struct {
	Provenance  string  `json:"provenance"`
	Step        int     `json:"step"`
	TotalSteps  int     `json:"total_steps"`
	DevAccuracy float64 `json:"dev_accuracy"`
	Examples    int     `json:"train_examples"`
	DevExamples int     `json:"dev_examples"`
	Seconds     float64 `json:"train_seconds"`
	Written     string  `json:"written"`
	Config      Config  `json:"config"`
}

// checkpoint is what one write of a checkpoint directory holds.
type checkpoint struct {
	model *transformer.Model
	tok   *tokenizer.Tokenizer
	info  trainingInfo
	opt   *AdamW      // nil for the best checkpoint
	state *trainState // nil for the best checkpoint
}

// write replaces the checkpoint directory dir as a whole: everything goes
// to a fresh temporary directory beside it, which is then renamed into
// place, so a kill leaves either the old or the new checkpoint, never a mix.
func (c *checkpoint) write(dir string) error {
	return replaceDir(dir, func(tmp string) error {
		if err := c.model.Save(tmp); err != nil {
			return err
		}
		if err := c.tok.WriteVocab(filepath.Join(tmp, tokenizer.VocabFile)); err != nil {
			return err
		}
		c.info.Written = time.Now().UTC().Format(time.RFC3339)
		if err := writeJSON(filepath.Join(tmp, TrainingFile), c.info); err != nil {
			return err
		}
		if c.opt != nil {
			ts, meta := c.opt.Tensors()
			if err := safetensors.WriteFile(filepath.Join(tmp, OptimizerFile), ts, meta); err != nil {
				return err
			}
		}
		if c.state != nil {
			return writeJSON(filepath.Join(tmp, StateFile), c.state)
		}
		return nil
	})
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(data, '\n'))
}

// Temporary and previous versions of a checkpoint directory d live beside
// it as .d.tmp-* and .d.old.
func tmpPattern(dir string) string { return "." + filepath.Base(dir) + ".tmp-" }
func oldDir(dir string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".old")
}

// replaceDir fills a new temporary directory and swaps it in for dir. An
// existing dir must be a directory: a symbolic link or a file there is
// refused (wrapping atomicfile.ErrRefused), never replaced.
func replaceDir(dir string, fill func(tmp string) error) (err error) {
	if _, err := atomicfile.CheckDir(dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, tmpPattern(dir))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := fill(tmp); err != nil {
		return err
	}
	old := oldDir(dir)
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir) // put the previous checkpoint back
		return err
	}
	syncDirectory(parent)
	return os.RemoveAll(old)
}

// recoverDir repairs what a kill during replaceDir can leave: when dir is
// missing but its previous version is there, the previous version comes
// back; leftover temporary directories are removed.
func recoverDir(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(oldDir(dir)); err == nil {
			if err := os.Rename(oldDir(dir), dir); err != nil {
				return err
			}
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), tmpPattern(dir)+"*"))
	for _, t := range tmps {
		os.RemoveAll(t)
	}
	return nil
}

func syncDirectory(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// readState reads StateFile of a last checkpoint.
func readState(dir string) (*trainState, error) {
	path := filepath.Join(dir, StateFile)
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "a checkpoint state")
	if err != nil {
		return nil, err
	}
	var st trainState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case st.Version != stateVersion:
		return nil, fmt.Errorf("%s: version %d, want %d", path, st.Version, stateVersion)
	case st.Step < 0 || st.Epoch < 0 || st.Batch < 0 || st.TotalSteps < st.Step:
		return nil, fmt.Errorf("%s: step %d of %d, epoch %d, batch %d: want non-negative counts with step ≤ total_steps", path, st.Step, st.TotalSteps, st.Epoch, st.Batch)
	}
	return &st, nil
}

// loadLast reads the model, optimizer state and position of the last
// checkpoint of runDir into a model and optimizer built for cfg.
func loadLast(runDir string, opt func(*transformer.Model) *AdamW) (*transformer.Model, *AdamW, *trainState, error) {
	dir := filepath.Join(runDir, LastDir)
	if err := recoverDir(dir); err != nil {
		return nil, nil, nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile)); errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("%s: %w", dir, ErrNoCheckpoint)
	}
	st, err := readState(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := transformer.Load(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	if m.Classifier == nil {
		return nil, nil, nil, fmt.Errorf("%s: model has no classifier", dir)
	}
	o := opt(m)
	optPath := filepath.Join(dir, OptimizerFile)
	f, err := safetensors.ReadFile(optPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := o.Restore(f); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", optPath, err)
	}
	if o.Steps() != st.Step {
		return nil, nil, nil, fmt.Errorf("%s: optimizer at step %d, state.json at step %d", dir, o.Steps(), st.Step)
	}
	return m, o, st, nil
}
