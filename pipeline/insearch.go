package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
)

// InSearchDir is the directory, relative to the run directory, where the
// search distils the candidate of architecture key key when
// distill.in_search is on: distill/in-search/ and SafeName(key) (never a
// DistillDir, whose names all end in a hash). The distilled student is in
// its StudentDir.
func InSearchDir(key string) string { return filepath.Join("distill", "in-search", SafeName(key)) }

// inSearchFile records, in an InSearchDir, the distillation done there
// (a Distilled without the fields known after the search).
const inSearchFile = "distilled.json"

// inSearchSettings returns the settings in-search distillation uses: the
// distill section's, for distill.in_search.steps steps.
func (c *Config) inSearchSettings() DistillSettings {
	return c.distillSettings(c.Distill.InSearch.Steps)
}

// searchConfig returns the search config the run searches with: the
// search section, with the refinement of distill.in_search when it is on.
func (r *Run) searchConfig() (search.Config, error) {
	cfg := r.Config.Search
	in := r.Config.Distill.InSearch
	if !in.On() {
		return cfg, nil
	}
	label, err := json.Marshal(r.Config.inSearchSettings())
	if err != nil {
		return cfg, err
	}
	cfg.Refine = search.Refine{Top: in.Top, Label: "distill " + string(label)}
	return cfg, nil
}

// refineByDistillation is the search.RefineFunc of distill.in_search: it
// distils the candidate's student into InSearchDir(key) and returns the
// candidate's Result with the distilled student's accuracy on the
// examples the candidate was scored on (the search's subsample), scored
// by ev, and its saved size; latency, peak memory and FLOPs stay (the
// shapes are the candidate's).
func (r *Run) refineByDistillation(ev *evaluator.Evaluator, data train.DataConfig) search.RefineFunc {
	s := r.Config.inSearchSettings()
	return func(ctx context.Context, c search.Candidate) (evaluator.Result, error) {
		rel := InSearchDir(c.Key)
		r.log.Info("distilling a candidate in the search", "arch", c.Key, "steps", s.Steps)
		student, tr, err := r.distilStudent(ctx, c.Result.Arch, rel, s, data, io.Discard, false)
		if err != nil {
			return evaluator.Result{}, fmt.Errorf("distil: %w", err)
		}
		score, err := ev.ScoreAt(ctx, student, c.Result.Examples)
		if err != nil {
			return evaluator.Result{}, fmt.Errorf("score the distilled student: %w", err)
		}
		res, err := distilledResult(c.Result, student, score)
		if err != nil {
			return evaluator.Result{}, err
		}
		d := Distilled{Key: c.Key, Settings: s, Loss: tr.Loss, Seconds: tr.TrainSeconds, Dir: rel}
		if err := writeJSON(filepath.Join(r.Config.RunDir, rel, inSearchFile), d); err != nil {
			return evaluator.Result{}, err
		}
		return res, nil
	}
}

// rescoreCandidate is rescore for a search candidate: a candidate the
// search distilled (Refined) is its distilled student, loaded from
// InSearchDir and scored on every example by local, with the candidate's
// other fields.
func (r *Run) rescoreCandidate(ctx context.Context, ev SearchEvaluator, local *evaluator.Evaluator, c search.Candidate) (evaluator.Result, error) {
	if !c.Refined {
		return r.rescore(ctx, ev, c.Key, c.Result.Arch)
	}
	dir := filepath.Join(r.Config.RunDir, InSearchDir(c.Key), StudentDir)
	student, err := transformer.Load(dir)
	if err != nil {
		return evaluator.Result{}, fmt.Errorf("the student the search distilled: %w", err)
	}
	score, err := local.ScoreFull(ctx, student)
	if err != nil {
		return evaluator.Result{}, fmt.Errorf("rescore the student the search distilled (%s): %w", dir, err)
	}
	return distilledResult(c.Result, student, score)
}

// inSearchDistilled returns the distillation the search made of member m
// (Refined, rescored): Result its Full, Before the accuracy of its
// undistilled student on every example.
func (r *Run) inSearchDistilled(ctx context.Context, ev SearchEvaluator, m Member) (Distilled, error) {
	rel := InSearchDir(m.Key)
	path := filepath.Join(r.Config.RunDir, rel, inSearchFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return Distilled{}, err
	}
	var d Distilled
	if err := json.Unmarshal(data, &d); err != nil {
		return Distilled{}, fmt.Errorf("%s: %w", path, err)
	}
	if d.Key != m.Key || d.Dir != rel {
		return Distilled{}, fmt.Errorf("%s: records the distillation of %s in %s, want %s in %s", path, d.Key, d.Dir, m.Key, rel)
	}
	before, err := r.rescore(ctx, ev, m.Key, m.Result.Arch)
	if err != nil {
		return Distilled{}, fmt.Errorf("rescore %s undistilled: %w", m.Key, err)
	}
	d.Result, d.Before, d.Score = *m.Full, before.Accuracy, m.Score
	return d, nil
}
