package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
)

// FrontFile is the file in the run directory that holds the last search's
// front (see Front), rewritten after the search and after every front
// member rescored on all examples.
const FrontFile = "front.json"

// RunFile is the file in the run directory naming its latest run.
const RunFile = "run.json"

// Front is what a search leaves: its outcome and the front rescored on
// every example. It is saved as FrontFile and read back by LoadFront.
type Front struct {
	// RunID names the run (see Run.ID).
	RunID string `json:"run_id"`
	// RunDir is the run directory.
	RunDir string `json:"run_dir"`
	// Partial says the search or the rescoring was interrupted: the front
	// is the best known so far, not the search's final answer.
	Partial bool `json:"partial"`
	// Stop is why the search stopped.
	Stop search.StopReason `json:"stop"`
	// Evaluations and Generations done over the whole run.
	Evaluations int `json:"evaluations"`
	Generations int `json:"generations"`
	// Candidates is how many candidates were evaluated.
	Candidates int `json:"candidates"`
	// Members is the front, by accuracy on the subsample, highest first:
	// noise-aware unless search.front.exact (see search.Archive.NoiseFront).
	Members []Member `json:"front"`
	// ExactFrontSize is the size of the exact Pareto front (len(Members)
	// when search.front.exact).
	ExactFrontSize int `json:"exact_front_size"`
	// FrontRule is the rule Members was chosen by; the front table marks
	// latency ties by it too.
	FrontRule search.FrontConfig `json:"front_rule"`
	// Teacher is the teacher's Result on the subsample when the search
	// evaluated it.
	Teacher *evaluator.Result `json:"teacher,omitempty"`
	// Teachers is the teacher scored on every example and measured at each
	// sequence length of the space, ascending: the reference rows of every
	// front table (empty until rescored).
	Teachers []evaluator.Result `json:"teachers,omitempty"`
	// Distilled holds the members Run.Distill distilled, in the order they
	// were distilled; those with OnFront make the distilled front.
	Distilled []Distilled `json:"distilled,omitempty"`
	// All is every evaluated candidate, in (generation, slot) order.
	All []search.Candidate `json:"all_candidates"`
	// Config is the text of the run's config file.
	Config string `json:"config"`
	// History is the hypervolume after every generation, of the exact and
	// of the noise-aware front.
	History []search.HVPoint `json:"history"`
	// Proxy is the validation of the subsample accuracy against the
	// accuracy on every example (see ProxyCheckConfig); nil when the
	// search scored on every example or the front is not rescored yet.
	Proxy *ProxyCheck `json:"proxy_check,omitempty"`
	// Saved is when the file was written.
	Saved time.Time `json:"saved"`
}

// Member is one candidate of the front.
type Member struct {
	search.Candidate
	// Full is the candidate scored on every example; nil until rescored.
	Full *evaluator.Result `json:"full,omitempty"`
}

// SearchOptions tunes Run.Search.
type SearchOptions struct {
	// Fresh deletes the run's saved state first (cached evaluations are
	// kept).
	Fresh bool
	// Progress receives every search event (see search.WithProgress).
	Progress func(search.Event)
	// Evaluator, when set, replaces the run's evaluator for the search and
	// the rescoring with the one it returns for the run's own (a cluster
	// coordinator that has evaluations done by workers and files their
	// Results in the run's cache).
	Evaluator func(*evaluator.Evaluator) (SearchEvaluator, error)
}

// SearchEvaluator is what Run.Search evaluates candidates with: Evaluate
// for the search, EvaluateFull for rescoring the front on every example.
// *evaluator.Evaluator is one.
type SearchEvaluator interface {
	search.Evaluator
	EvaluateFull(ctx context.Context, a space.Arch) (evaluator.Result, error)
}

// Search runs (or resumes) the run's search, then rescores the front on
// every example and saves it (FrontFile) after each member, so an
// interruption loses no completed rescoring. When the search scored on a
// subsample, it then checks the proxy (Front.Proxy, see
// ProxyCheckConfig), logging its warning when there is one. When ctx
// ends during the search or the rescoring, it saves what it has and
// returns the front with Partial set and ctx's error (during the proxy
// check: with Front.Proxy.Partial set). Any other error is returned with the
// front so far when there is one.
func (r *Run) Search(ctx context.Context, o SearchOptions) (*Front, error) {
	cfg := r.Config
	cfgPath, err := filepath.Abs(cfg.File)
	if err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(cfg.RunDir, RunFile), runInfo{RunID: r.ID, Config: cfgPath, TeacherDigest: r.TeacherDigest,
		Evaluator: cfg.Evaluator, Builder: cfg.Compress.Options().Key(), Updated: time.Now().UTC()}); err != nil {
		return nil, err
	}
	if r.bolt == nil {
		return nil, errors.New("search: the run was opened without its cache file (pipeline.Options.Cache)")
	}
	local, err := r.Evaluator(ctx, cfg.Compress.Options())
	if err != nil {
		return nil, err
	}
	var ev SearchEvaluator = local
	if o.Evaluator != nil {
		if ev, err = o.Evaluator(local); err != nil {
			return nil, err
		}
	}
	store := search.NewFileStore(r.bolt.File())
	if o.Fresh {
		if err := search.DeleteRun(store, r.ID); err != nil && !errors.Is(err, search.ErrNoRun) {
			return nil, err
		}
	}
	scfg, err := r.searchConfig()
	if err != nil {
		return nil, err
	}
	opts := []search.Option{search.WithStore(store), search.WithRunID(r.ID), search.WithLogger(r.log)}
	if cfg.Distill.InSearch.On() {
		data, err := r.distillData()
		if err != nil {
			return nil, fmt.Errorf("distill.in_search: %w", err)
		}
		opts = append(opts, search.WithRefine(r.refineByDistillation(local, data)))
	}
	if r.reg != nil {
		opts = append(opts, search.WithRegisterer(r.reg))
	}
	if o.Progress != nil {
		opts = append(opts, search.WithProgress(o.Progress))
	}
	out, err := search.Run(ctx, scfg, r.Space, ev, opts...)
	if out == nil {
		return nil, err
	}
	f := r.front(out)
	// An earlier process may have rescored some members already.
	if old, lerr := LoadFront(cfg.RunDir); lerr == nil && old.RunID == r.ID {
		f.adopt(old)
	}
	if err != nil || out.Stop == search.StopCanceled {
		f.Partial = true
		if serr := r.saveFront(f); serr != nil {
			return f, errors.Join(err, serr)
		}
		if err == nil {
			err = ctx.Err()
		}
		return f, err
	}
	// The search scored candidates on a subsample; the front is rescored
	// on every example (cached like any evaluation).
	// The teacher is rescored too, at every sequence length: it is every
	// table's reference row.
	type todo struct {
		key     string
		rescore func() (evaluator.Result, error)
		done    func(evaluator.Result)
	}
	var work []todo
	for _, seq := range r.Space.Spec().SeqLen {
		if slices.ContainsFunc(f.Teachers, func(t evaluator.Result) bool { return t.Arch.SeqLen == seq }) {
			continue
		}
		a := r.Space.TeacherArch()
		a.SeqLen = seq
		work = append(work, todo{"teacher", func() (evaluator.Result, error) { return r.rescore(ctx, ev, "teacher", a) }, func(res evaluator.Result) {
			f.Teachers = append(f.Teachers, res)
			slices.SortFunc(f.Teachers, func(x, y evaluator.Result) int { return x.Arch.SeqLen - y.Arch.SeqLen })
		}})
	}
	for i := range f.Members {
		if m := &f.Members[i]; m.Full == nil {
			work = append(work, todo{m.Key, func() (evaluator.Result, error) { return r.rescoreCandidate(ctx, ev, local, m.Candidate) },
				func(res evaluator.Result) { m.Full = &res }})
		}
	}
	for _, w := range work {
		full, err := w.rescore()
		if err != nil {
			f.Partial = true
			if serr := r.saveFront(f); serr != nil {
				err = errors.Join(err, serr)
			}
			if ctx.Err() != nil {
				return f, ctx.Err()
			}
			return f, fmt.Errorf("rescore the front on every example: %w", err)
		}
		w.done(full)
		if err := r.saveFront(f); err != nil {
			return f, err
		}
	}
	// The members the search distilled are distilled students: the
	// distilled front and export take them (until Run.Distill distils
	// them again).
	for _, m := range f.Members {
		if !m.Refined || f.DistilledOf(m.Key) != nil {
			continue
		}
		d, err := r.inSearchDistilled(ctx, ev, m)
		if err == nil {
			f.setDistilled(d)
			err = r.saveFront(f)
		}
		if err != nil {
			if ctx.Err() != nil {
				f.Partial = true
				return f, errors.Join(ctx.Err(), r.saveFront(f))
			}
			return f, fmt.Errorf("record the distillation of %s in the search: %w", m.Key, err)
		}
	}
	if len(f.All) == 0 || f.All[0].Result.Examples >= len(r.Dev) {
		return f, nil // scored on every example: nothing to check
	}
	pc := cfg.ProxyCheck.withDefaults()
	cands := proxyCandidates(pc, f.Members, f.All)
	f.Proxy, err = proxyCheck(pc, len(r.Dev), cands, len(f.Members), func(c search.Candidate) (evaluator.Result, error) {
		return r.rescoreCandidate(ctx, ev, local, c)
	})
	if serr := r.saveFront(f); serr != nil {
		err = errors.Join(err, serr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return f, ctx.Err()
		}
		return f, fmt.Errorf("proxy check: %w", err)
	}
	if f.Proxy.Warning != "" {
		r.log.Warn(f.Proxy.Warning, "kendall_tau", f.Proxy.KendallTau, "max_abs_error", f.Proxy.MaxAbsError, "points", len(f.Proxy.Points))
	}
	return f, nil
}

// rescore scores a on every example (cached), retrying as search.retry
// says.
func (r *Run) rescore(ctx context.Context, ev SearchEvaluator, key string, a space.Arch) (evaluator.Result, error) {
	var full evaluator.Result
	err := r.Config.Search.Retry.Do(ctx, nil, func() (err error) {
		full, err = ev.EvaluateFull(ctx, a)
		return err
	}, func(attempt int, backoff time.Duration, err error) {
		r.log.Warn("rescoring failed, retrying", "arch", key, "attempt", attempt, "backoff", backoff, "err", err)
	})
	return full, err
}

// front turns a search outcome into a Front (not yet rescored).
func (r *Run) front(out *search.Outcome) *Front {
	f := &Front{RunID: r.ID, RunDir: r.Config.RunDir, Stop: out.Stop, Evaluations: out.Evaluations, Generations: out.Generations,
		Candidates: len(out.Candidates), ExactFrontSize: out.ExactFrontSize, FrontRule: out.Config.Front, Teacher: out.Teacher, History: out.History, All: out.Candidates, Config: string(r.Config.text)}
	for _, c := range out.Front {
		f.Members = append(f.Members, Member{Candidate: c})
	}
	return f
}

// adopt takes the rescorings of old for members of f that old rescored.
func (f *Front) adopt(old *Front) {
	if len(f.Teachers) == 0 {
		f.Teachers = old.Teachers
	}
	full := map[string]*evaluator.Result{}
	for _, m := range old.Members {
		if m.Full != nil {
			full[m.Key] = m.Full
		}
	}
	for i := range f.Members {
		if f.Members[i].Full == nil {
			f.Members[i].Full = full[f.Members[i].Key]
		}
	}
	f.adoptDistilled(old)
}

func (r *Run) saveFront(f *Front) error {
	f.Saved = time.Now().UTC()
	return writeJSON(filepath.Join(r.Config.RunDir, FrontFile), f)
}

// LoadFront reads the front a search saved in runDir: finished, or
// interrupted (Partial).
func LoadFront(runDir string) (*Front, error) {
	path := filepath.Join(runDir, FrontFile)
	data, err := limitio.ReadFile(path, limitio.VocabLimit, "front file")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no front saved (has a search run in %s?): %w", path, runDir, err)
		}
		return nil, err
	}
	var f Front
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}
