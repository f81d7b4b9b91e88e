package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/train"
	"github.com/edgenas/edgenas/transformer"
)

// TestDistillConfigProblems: every bad value of the distill section is
// reported by LoadConfig with its field and line.
func TestDistillConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name, section string
		fields        []string
	}{
		{"negative counts", "distill: {steps: -1, batch_size: -2, threads: -1, checkpoint_every: -5}\n",
			[]string{"distill.steps", "distill.batch_size", "distill.threads", "distill.checkpoint_every"}},
		{"rates", "distill: {lr: -1, warmup: 1.5, temperature: -2, max_len: 1}\n",
			[]string{"distill.lr", "distill.warmup", "distill.temperature", "distill.max_len"}},
		{"weights", "distill: {weights: {soft: -1, hidden: .nan}}\n", []string{"distill.weights.soft", "distill.weights.hidden"}},
		{"all weights zero", "distill: {weights: {soft: 0, hidden: 0, attention: 0}}\n", []string{"distill.weights"}},
		{"select", "distill: {select: top=0}\n", []string{"distill.select"}},
		{"select empty key", "distill: {select: 'a,,b'}\n", []string{"distill.select"}},
		{"in_search negative", "distill: {in_search: {top: -1}}\n", []string{"distill.in_search.top"}},
		{"in_search negative steps", "distill: {in_search: {top: 1, steps: -5}}\n", []string{"distill.in_search.steps"}},
		{"in_search top without steps", "distill: {in_search: {top: 2}}\n", []string{"distill.in_search.steps"}},
		{"in_search steps without top", "distill: {in_search: {steps: 10}}\n", []string{"distill.in_search.top"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(pipelinetest.WriteConfigs(t, t.TempDir(), tc.section))
			if err == nil {
				t.Fatal("accepted")
			}
			var got []string
			for _, p := range fielderr.All(err) {
				got = append(got, p.Field)
				if p.Line == 0 {
					t.Errorf("%s: no line", p.Field)
				}
			}
			slices.Sort(got)
			slices.Sort(tc.fields)
			if !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("problems in %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		cfg, err := LoadConfig(pipelinetest.WriteConfigs(t, t.TempDir(), "distill: {select: top=2, weights: {hard: 0.5}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := DistillSettings{Steps: DefaultDistillSteps, BatchSize: train.DefaultBatchSize, LR: DefaultDistillLR, Warmup: train.DefaultWarmup,
			Temperature: 1, Soft: 1, Hidden: 1, Attention: 1, Hard: 0.5, MaxLen: 16, Seed: 1, CheckpointEvery: DefaultDistillSteps / 10}
		if got := cfg.distillSettings(0); got != want {
			t.Fatalf("settings %+v, want %+v", got, want)
		}
	})
}

func TestParseSelect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Selection
		bad  bool
	}{
		{"", Selection{All: true}, false},
		{"all", Selection{All: true}, false},
		{"top=3", Selection{Top: 3}, false},
		{"k1, k2", Selection{Keys: []string{"k1", "k2"}}, false},
		{"top=x", Selection{}, true},
		{"top=-1", Selection{}, true},
		{",", Selection{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSelect(tc.in)
			if (err != nil) != tc.bad || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseSelect(%q) = %+v, %v", tc.in, got, err)
			}
		})
	}
}

func FuzzParseSelect(f *testing.F) {
	for _, s := range []string{"", "all", "top=2", "a,b", "top=", ",x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelect(s)
		if err != nil {
			return
		}
		n := 0
		if sel.All {
			n++
		}
		if sel.Top > 0 {
			n++
		}
		if len(sel.Keys) > 0 {
			n++
		}
		if n != 1 {
			t.Fatalf("ParseSelect(%q) = %+v: want exactly one of all, top and keys", s, sel)
		}
		for _, k := range sel.Keys {
			if k == "" || strings.Contains(k, ",") {
				t.Fatalf("ParseSelect(%q): key %q", s, k)
			}
		}
	})
}

// cancelAt is a progress writer that cancels when a line contains mark.
type cancelAt struct {
	mu     sync.Mutex
	mark   string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (c *cancelAt) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mark != "" && bytes.Contains(p, []byte(c.mark)) {
		c.cancel()
	}
	return c.buf.Write(p)
}

func studentDigest(t *testing.T, r *Run, d Distilled) string {
	t.Helper()
	m, err := transformer.Load(filepath.Join(r.Config.RunDir, d.Dir, StudentDir))
	if err != nil {
		t.Fatal(err)
	}
	dg, err := m.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return dg
}

// TestDistill distils the tiny run's front: every distilled student's KL
// to the teacher falls and its weights differ from the compressed
// student's; latency is the member's; front.json brings both fronts back;
// an interrupted distillation resumes to the weights of an uninterrupted
// one; a second call keeps what is done.
func TestDistill(t *testing.T) {
	dir := t.TempDir()
	r := openTiny(t, dir, "distill: {steps: 30, checkpoint_every: 10, lr: 3e-3, threads: 1}\n")
	ctx := context.Background()
	f, err := r.Search(ctx, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := f.Members[0].Key

	// Interrupted after step 10 of the first student, then resumed.
	cctx, cancel := context.WithCancel(ctx)
	w := &cancelAt{mark: "step 10/30", cancel: cancel}
	_, err = r.Distill(cctx, f, DistillOptions{Select: key, Progress: w})
	cancel()
	if !errors.Is(err, train.ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted (progress: %s)", err, w.buf.String())
	}
	if f.DistilledOf(key) != nil {
		t.Fatal("an interrupted distillation was recorded")
	}
	w = &cancelAt{}
	if f, err = r.Distill(ctx, f, DistillOptions{Select: key, Progress: w}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.buf.String(), "resuming") || !strings.Contains(w.buf.String(), "step 10 of 30") {
		t.Fatalf("did not resume at step 10:\n%s", w.buf.String())
	}
	resumed := studentDigest(t, r, *f.DistilledOf(key))

	// The rest, and the first again from scratch.
	if err := os.RemoveAll(filepath.Join(r.Config.RunDir, DistillDir(key))); err != nil {
		t.Fatal(err)
	}
	if f, err = r.Distill(ctx, f, DistillOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := studentDigest(t, r, *f.DistilledOf(key)); got != resumed {
		t.Fatalf("resumed distillation gives %s, uninterrupted %s", resumed, got)
	}
	if len(f.Distilled) != len(f.Members) {
		t.Fatalf("%d distilled of %d members", len(f.Distilled), len(f.Members))
	}
	onFront := 0
	for _, d := range f.Distilled {
		m := f.Members[indexOfMember(f, d.Key)]
		if !(d.Result.TeacherKL < m.Full.TeacherKL) {
			t.Errorf("%s: KL to the teacher %.4f before distillation, %.4f after", d.Key, m.Full.TeacherKL, d.Result.TeacherKL)
		}
		if d.Before != m.Full.Accuracy || d.Result.Examples != m.Full.Examples {
			t.Errorf("%s: before %v on %d, member %v on %d", d.Key, d.Before, d.Result.Examples, m.Full.Accuracy, m.Full.Examples)
		}
		if d.Result.Latency != m.Result.Latency {
			t.Errorf("%s: latency changed by distillation", d.Key)
		}
		built, err := r.Build(m.Result.Arch, r.Config.Compress.Options())
		if err != nil {
			t.Fatal(err)
		}
		bd, _ := built.Digest()
		if studentDigest(t, r, d) == bd {
			t.Errorf("%s: distilled weights equal the compressed student's", d.Key)
		}
		if d.OnFront {
			onFront++
		}
	}
	if onFront == 0 || len(f.DistilledFront()) != onFront {
		t.Fatalf("distilled front of %d (%d listed)", onFront, len(f.DistilledFront()))
	}

	back, err := LoadFront(r.Config.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Distilled, f.Distilled) || !reflect.DeepEqual(back.Members, f.Members) {
		t.Fatal("front.json does not bring both fronts back")
	}

	// Done already: nothing is trained again.
	w = &cancelAt{}
	if _, err = r.Distill(ctx, back, DistillOptions{Progress: w}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(w.buf.String(), "distilled already") != len(f.Members) || strings.Contains(w.buf.String(), "step ") {
		t.Fatalf("distilled again:\n%s", w.buf.String())
	}
	// A resumed search keeps the distillations.
	again, err := r.Search(ctx, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Distilled, f.Distilled) {
		t.Fatal("a resumed search dropped the distilled front")
	}
}

func indexOfMember(f *Front, key string) int {
	for i, m := range f.Members {
		if m.Key == key {
			return i
		}
	}
	return -1
}

// TestDistillOffTheFront: a key may name any evaluated candidate, not only
// a front member; it is rescored on every example first.
func TestDistillOffTheFront(t *testing.T) {
	r := openTiny(t, t.TempDir(), "distill: {steps: 5, threads: 1}\n")
	ctx := context.Background()
	f, err := r.Search(ctx, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var key string
	for _, c := range f.All {
		if !slices.ContainsFunc(f.Members, func(m Member) bool { return m.Key == c.Key }) {
			key = c.Key
			break
		}
	}
	if key == "" {
		t.Skip("every evaluated candidate is on the front")
	}
	if f, err = r.Distill(ctx, f, DistillOptions{Select: key}); err != nil {
		t.Fatal(err)
	}
	d := f.DistilledOf(key)
	ev, err := r.Evaluator(ctx, r.Config.Compress.Options())
	if err != nil {
		t.Fatal(err)
	}
	c := f.All[slices.IndexFunc(f.All, func(c search.Candidate) bool { return c.Key == key })]
	full, err := ev.EvaluateFull(ctx, c.Result.Arch)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil || d.Before != full.Accuracy || d.Result.Examples != full.Examples {
		t.Fatalf("distilled %+v, want it with its accuracy before distillation %v on all %d examples", d, full.Accuracy, full.Examples)
	}
	if _, err := r.Distill(ctx, f, DistillOptions{Select: "a1|nope"}); err == nil || !strings.Contains(err.Error(), "evaluated") {
		t.Errorf("an unknown key: %v", err)
	}
}
