package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/transformer"
)

// TestInSearchDistill: with distill.in_search, the best candidate of each
// completed generation enters the archive distilled (Refined), with the
// accuracy of its saved distilled student on the search's subsample; an
// interrupted search, resumed, does not distil it again; a distilled
// front member is a distilled student of the front.
func TestInSearchDistill(t *testing.T) {
	r := openTiny(t, t.TempDir(), "distill: {threads: 1, in_search: {top: 1, steps: 5}}\n")
	ctx := context.Background()
	ev, err := r.Evaluator(ctx, r.Config.Compress.Options())
	if err != nil {
		t.Fatal(err)
	}

	// Stopped as soon as the first distilled candidate is archived (before
	// its generation is committed), then resumed.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := r.Search(cctx, SearchOptions{Progress: func(e search.Event) {
		if e.Kind == search.EventFront && slices.ContainsFunc(e.Front, func(c search.Candidate) bool { return c.Refined }) {
			cancel()
		}
	}}); err == nil {
		t.Fatal("the interrupted search returned no error")
	}
	var refined []search.Candidate
	stats := map[string]os.FileInfo{}
	f, err := LoadFront(r.Config.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.All {
		if c.Refined {
			fi, err := os.Stat(filepath.Join(r.Config.RunDir, InSearchDir(c.Key), inSearchFile))
			if err != nil {
				t.Fatal(err)
			}
			stats[c.Key] = fi
		}
	}
	if len(stats) != 1 {
		t.Fatalf("the interrupted search distilled %d candidates, want 1", len(stats))
	}

	f, err = r.Search(ctx, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, before := range stats {
		fi, err := os.Stat(filepath.Join(r.Config.RunDir, InSearchDir(k), inSearchFile))
		if err != nil || !os.SameFile(before, fi) {
			t.Errorf("%s distilled again after the resume (%v)", k, err)
		}
	}
	perGen := map[int]int{}
	for _, c := range f.All {
		if c.Refined {
			perGen[c.Generation]++
			refined = append(refined, c)
		}
	}
	// The budget (5) completes generation 0 (4 candidates) only.
	if len(refined) != 1 || perGen[0] != 1 {
		t.Fatalf("distilled per generation %v, want 1 in generation 0", perGen)
	}
	for _, c := range refined {
		student, err := transformer.Load(filepath.Join(r.Config.RunDir, InSearchDir(c.Key), StudentDir))
		if err != nil {
			t.Fatal(err)
		}
		score, err := ev.ScoreAt(ctx, student, c.Result.Examples)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := ev.Evaluate(ctx, c.Result.Arch) // cached: the undistilled student
		if err != nil {
			t.Fatal(err)
		}
		size, err := student.FileBytes()
		if err != nil {
			t.Fatal(err)
		}
		if c.Result.Accuracy != score.Accuracy || c.Result.TeacherKL != score.TeacherKL || c.Result.Examples != 24 || c.Result.SizeBytes != size {
			t.Errorf("%s: archived %v (KL %v) on %d, %d B; the distilled student scores %v (KL %v) on %d, %d B",
				c.Key, c.Result.Accuracy, c.Result.TeacherKL, c.Result.Examples, c.Result.SizeBytes, score.Accuracy, score.TeacherKL, score.Examples, size)
		}
		if c.Result.TeacherKL == plain.TeacherKL || c.Result.Latency != plain.Latency {
			t.Errorf("%s: KL %v, undistilled %v (want a change); latency %v, undistilled %v (want the same)", c.Key, c.Result.TeacherKL, plain.TeacherKL, c.Result.Latency, plain.Latency)
		}
		i := indexOfMember(f, c.Key)
		if i < 0 {
			t.Fatalf("%s, distilled, is not on the front (this tiny search puts it there)", c.Key)
		}
		m := f.Members[i]
		full, err := ev.ScoreFull(ctx, student)
		if err != nil {
			t.Fatal(err)
		}
		d := f.DistilledOf(c.Key)
		if m.Full == nil || m.Full.Accuracy != full.Accuracy || d == nil || d.Dir != InSearchDir(c.Key) || !reflect.DeepEqual(d.Result, *m.Full) || d.Settings.Steps != 5 {
			t.Errorf("front member %s: full %+v, distilled %+v; the distilled student scores %v on every example", c.Key, m.Full, d, full.Accuracy)
		}
	}
}
