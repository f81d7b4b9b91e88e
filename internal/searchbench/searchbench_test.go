package searchbench

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/space"
)

var tiny = space.Teacher{Layers: 2, Heads: 2, Hidden: 8, FFN: 8, Vocab: 20, MaxSeq: 16}

func tinySpace(t testing.TB) *space.Space {
	t.Helper()
	sp, err := space.New(space.Spec{Heads: []int{1, 2}, FFN: []int{4, 8}, Bits: []int{32, 8, 4}, ShareGroups: []int{1, 2}, SeqLen: []int{16}}, tiny)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// synthRow makes a row from the genes: more capacity and bits are more
// accurate, slower and larger; lower levels add a deterministic error.
func synthRow(a space.Arch) *Row {
	var capacity, work, size float64
	for _, l := range a.Layers {
		c := float64(l.Heads*4 + l.FFN)
		q := map[int]float64{32: 1, 8: 0.95, 4: 0.8}[l.Bits]
		capacity += c * q
		work += c * (0.5 + float64(l.Bits)/64)
		if !l.SharePrev {
			size += c * float64(l.Bits)
		}
	}
	acc := 0.5 + 0.4*(1-math.Exp(-capacity/20))
	h := 0
	for _, ch := range a.Key() {
		h = (h*31 + int(ch)) % 997
	}
	lvl := func(n int, d time.Duration) Level {
		e := 0.0
		if n < 100 {
			e = (float64(h%21) - 10) / 200 * 10 / float64(n)
		}
		return Level{Examples: n, Accuracy: min(1, max(0, acc+e)), Score: d}
	}
	return &Row{Key: a.Key(), Arch: a, Levels: []Level{lvl(10, time.Millisecond), lvl(40, 4*time.Millisecond), lvl(100, 10*time.Millisecond)},
		Latency:   devices.Measurement{Stats: devices.Stats{Runs: 7, Median: time.Duration(10+work) * time.Microsecond}, Attempts: 1},
		SizeBytes: int64(1000 + size), Build: 2 * time.Millisecond, Measure: 3 * time.Millisecond}
}

func synthTable(t testing.TB, sp *space.Space) (*Table, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exhaustive.jsonl")
	measure := func(_ context.Context, a space.Arch) (*Row, error) { return synthRow(a), nil }
	tab, err := Fill(context.Background(), path, sp, sp.TeacherArch(), measure, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tab, path
}

func TestFillIsCompleteAndResumable(t *testing.T) {
	sp := tinySpace(t)
	tab, path := synthTable(t, sp)
	if int64(len(tab.Rows)) != sp.Size().Int64() || tab.Teacher == nil || tab.Teacher.Key != sp.TeacherArch().Key() {
		t.Fatalf("%d rows for %v archs, teacher %v", len(tab.Rows), sp.Size(), tab.Teacher)
	}
	// Interrupted mid-line after 5 rows: the next Fill measures only the rest.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	cut := append(bytes.Join(lines[:5], nil), lines[5][:10]...)
	if err := os.WriteFile(path, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	calls := 0
	again, err := Fill(context.Background(), path, sp, sp.TeacherArch(), func(_ context.Context, a space.Arch) (*Row, error) { calls++; return synthRow(a), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(tab.Rows) - 5; calls != want || len(again.Rows) != len(tab.Rows) {
		t.Fatalf("resumed fill measured %d archs (want %d), table has %d rows", calls, want, len(again.Rows))
	}
	if reread, err := ReadTable(path); err != nil || len(reread.Rows) != len(tab.Rows) {
		t.Fatalf("reread: %v", err)
	}
}

func TestReadTableRejects(t *testing.T) {
	sp := tinySpace(t)
	tab, _ := synthTable(t, sp)
	var buf bytes.Buffer
	if err := tab.write(&buf); err != nil {
		t.Fatal(err)
	}
	good := strings.SplitAfter(buf.String(), "\n")
	for _, tc := range []struct {
		name, text, want string
	}{
		{"duplicate", good[0] + good[1] + good[1], ":3: "},
		{"unknown field", good[0] + `{"key":"x","bogus":1}` + "\n", ":2: "},
		{"key mismatch", good[0] + strings.Replace(good[1], `"key":"a1|L0`, `"key":"a1|L1`, 1), ":2: arch does not match"},
		{"accuracy out of range", good[0] + strings.Replace(good[1], `"accuracy":0.`, `"accuracy":7.`, 1), "outside [0, 1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseTable([]byte(tc.text), "t.jsonl")
			if err == nil || !strings.Contains(err.Error(), "t.jsonl") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming t.jsonl and %q", err, tc.want)
			}
		})
	}
}

func TestEvaluatorReplays(t *testing.T) {
	sp := tinySpace(t)
	tab, _ := synthTable(t, sp)
	ctx := context.Background()
	ev, err := NewEvaluator(tab, 40)
	if err != nil {
		t.Fatal(err)
	}
	row := tab.Rows[7]
	a := row.Arch
	r1, err := ev.Evaluate(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := ev.Evaluate(ctx, a)
	if r1.Accuracy != row.Levels[1].Accuracy || r1.Examples != 40 || r1.Latency != row.Latency || r1.SizeBytes != row.SizeBytes || r1.Key != a.Key() {
		t.Fatalf("Evaluate = %+v, row %+v", r1, row)
	}
	if r1.Accuracy != r2.Accuracy || r1.Latency != r2.Latency {
		t.Fatal("two evaluations differ")
	}
	if got, want := ev.Cost(a.Key()), 2*(row.Build+row.Measure+row.Levels[1].Score); got != want {
		t.Fatalf("cost %v, want %v", got, want)
	}
	t.Run("levels", func(t *testing.T) {
		for _, promote := range []bool{true, false} {
			rs, err := ev.EvaluateLevels(ctx, a, []int{10, 100}, func(evaluator.Result) bool { return promote })
			if err != nil {
				t.Fatal(err)
			}
			if promote && (len(rs) != 2 || rs[1].Accuracy != row.Full() || rs[1].Stages.Build != 0 || rs[0].Stages.Build != row.Build) ||
				!promote && (len(rs) != 1 || rs[0].Accuracy != row.Levels[0].Accuracy) {
				t.Fatalf("promote %v: %+v", promote, rs)
			}
		}
	})
	t.Run("unknown arch", func(t *testing.T) {
		other := a.Clone()
		other.SeqLen = 8
		if _, err := ev.Evaluate(ctx, other); !errors.Is(err, ErrNotInTable) {
			t.Fatalf("unknown arch: %v", err)
		}
		if _, err := ev.EvaluateLevels(ctx, other, []int{10, 100}, func(evaluator.Result) bool { return true }); !errors.Is(err, ErrNotInTable) {
			t.Fatalf("unknown arch: %v", err)
		}
	})
	t.Run("unknown level", func(t *testing.T) {
		if _, err := NewEvaluator(tab, 50); err == nil {
			t.Fatal("level 50 is not in the table")
		}
	})
}

func TestHVRatioAndReach(t *testing.T) {
	steps := []Step{{HV: 0.1, Time: 1}, {HV: 0.5, Time: 3}, {HV: 0.9, Time: 6}, {HV: 0.96, Time: 10}}
	for _, tc := range []struct {
		name   string
		target float64
		evals  int
		spent  time.Duration
		ok     bool
	}{
		{"first", 0.1, 1, 1, true},
		{"exactly 0.9", 0.9, 3, 6, true},
		{"0.95", 0.95, 4, 10, true},
		{"never", 0.97, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, d, ok := Reach(steps, tc.target)
			if n != tc.evals || d != tc.spent || ok != tc.ok {
				t.Fatalf("Reach(%v) = %d, %v, %v", tc.target, n, d, ok)
			}
		})
	}
	if r := RatioAt(steps, 2, 1.0); r != 0.5 {
		t.Fatalf("RatioAt(2) = %v", r)
	}
	if r := RatioAt(steps, 10, 2.0); r != 0.48 {
		t.Fatalf("RatioAt past the end = %v, want the last step's 0.96/2", r)
	}
	if m, sd := MeanSD([]float64{1, 2, 3}); m != 2 || sd != 1 {
		t.Fatalf("MeanSD = %v, %v", m, sd)
	}
}

func TestReplayReachesTheExhaustiveFront(t *testing.T) {
	sp := tinySpace(t)
	tab, _ := synthTable(t, sp)
	hvStar := tab.ExhaustiveHV(0)
	if hvStar <= 0 {
		t.Fatalf("exhaustive HV %v", hvStar)
	}
	n := len(tab.Rows)
	cfg := search.Config{Strategy: search.StrategyRandom, PopulationSize: 8, Budget: search.Budget{MaxEvaluations: n, Patience: -1}}
	steps, err := Replay(context.Background(), tab, sp, cfg, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Evaluating the whole space finds the exhaustive front exactly.
	if len(steps) != n || math.Abs(steps[n-1].HV-hvStar) > 1e-12 {
		t.Fatalf("%d steps for %d archs, final HV %v, exhaustive %v", len(steps), n, steps[len(steps)-1].HV, hvStar)
	}
	for i := 1; i < n; i++ {
		if steps[i].HV < steps[i-1].HV-1e-12 || steps[i].Time <= steps[i-1].Time {
			t.Fatalf("step %d: HV %v after %v, time %v after %v", i, steps[i].HV, steps[i-1].HV, steps[i].Time, steps[i-1].Time)
		}
	}
	again, err := Replay(context.Background(), tab, sp, cfg, 0, 0, nil)
	if err != nil || again[n/2] != steps[n/2] {
		t.Fatalf("replays differ: %v vs %v (%v)", again[n/2], steps[n/2], err)
	}
	// With an accuracy reference only accuracy above it counts.
	above, err := Replay(context.Background(), tab, sp, cfg, 0, 0.7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hv7 := tab.ExhaustiveHV(0.7); !(hv7 > 0 && hv7 < hvStar) || math.Abs(above[n-1].HV-hv7) > 1e-12 {
		t.Fatalf("accuracy reference 0.7: exhaustive %v (reference 0: %v), replay ends at %v", hv7, hvStar, above[n-1].HV)
	}
	// Multi-fidelity screens some and still ends on the exhaustive front
	// (every screened one is dominated with the margin, so off it).
	cfg.Fidelity = search.Fidelity{Levels: []int{40, 100}, Margin: 1}
	mf, err := Replay(context.Background(), tab, sp, cfg, 0, 0, func(s []Step) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	last := mf[len(mf)-1]
	// Each screened arch saves its last level's scoring (10 ms).
	r := tab.Rows[0]
	all := time.Duration(len(mf)) * (r.Build + r.Measure + r.Levels[1].Score + r.Levels[2].Score)
	if last.Screened == 0 || last.Time != all-time.Duration(last.Screened)*r.Levels[2].Score || last.HV > hvStar+1e-12 {
		t.Fatalf("multi-fidelity screened %d, spent %v (promoting all: %v), HV %v of %v", last.Screened, last.Time, all, last.HV, hvStar)
	}
	t.Logf("%d archs, screened %d, time %v vs %v, HV %v of %v", n, last.Screened, last.Time, steps[n-1].Time, last.HV, hvStar)
	// stop ends a replay early.
	short, err := Replay(context.Background(), tab, sp, cfg, 0, 0, func(s []Step) bool { return len(s) >= 5 })
	if err != nil || len(short) != 5 {
		t.Fatalf("stopped replay: %d steps, %v", len(short), err)
	}
}
