package search

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/boltfile"
	"github.com/edgenas/edgenas/space"
)

var testTeacher = space.Teacher{Layers: 4, Heads: 4, Hidden: 256, FFN: 1024, Vocab: 30522, MaxSeq: 512}

func testSpace(t testing.TB) *space.Space {
	t.Helper()
	sp, err := space.New(space.Spec{
		Layers:        []int{1, 2, 3, 4},
		Heads:         []int{1, 2, 4},
		FFN:           []int{256, 512, 1024},
		Bits:          []int{32, 16, 8, 4},
		ShareGroups:   []int{1, 2},
		EmbeddingBits: []int{32, 8},
		SeqLen:        []int{128},
	}, testTeacher)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// model computes deterministic accuracy, latency and size from the genes:
// more heads, FFN and layers and more bits are more accurate, slower and
// larger; sharing saves size but costs accuracy; a hash of the key adds a
// little noise so ties are rare but possible.
func model(a space.Arch) (acc float64, lat time.Duration, size int64) {
	var capacity, work float64
	for _, l := range a.Layers {
		c := float64(l.Heads)*64 + float64(l.FFN)/4
		q := map[int]float64{32: 1, 16: 0.99, 8: 0.96, 4: 0.85}[l.Bits]
		if l.SharePrev {
			q *= 0.9
		} else {
			size += int64((4*256*float64(l.Heads)*64 + 2*256*float64(l.FFN)) * float64(l.Bits) / 8)
		}
		capacity += c * q
		work += c * (0.4 + 0.6*float64(l.Bits)/32)
	}
	size += int64(30522 * 256 * a.EmbeddingBits / 8)
	h := fnv.New64a()
	h.Write([]byte(a.Key()))
	noise := float64(h.Sum64()%1000) / 1e5
	acc = 0.5 + 0.45*(1-math.Exp(-capacity/1500)) + noise
	if a.EmbeddingBits == 8 {
		acc -= 0.01
	}
	lat = 50*time.Microsecond + time.Duration(work*float64(time.Microsecond))
	return acc, lat, size
}

// fakeEval is a deterministic Evaluator. With a gate it holds it shared
// for its "accuracy" stage and exclusively for its "latency" stage, and it
// records any overlap it sees.
type fakeEval struct {
	delay time.Duration // per stage
	gate  *evaluator.Gate
	fail  string // key that fails

	calls     atomic.Int64
	mu        sync.Mutex
	seen      map[string]int
	acc, lat  int // stages in progress
	maxAcc    int
	overlaps  []string
	onMeasure func() // called inside the exclusive stage
}

func (f *fakeEval) Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	f.calls.Add(1)
	key := a.Key()
	f.mu.Lock()
	if f.seen == nil {
		f.seen = map[string]int{}
	}
	f.seen[key]++
	f.mu.Unlock()
	if key == f.fail {
		return evaluator.Result{}, fmt.Errorf("fake failure")
	}
	stage := func(exclusive bool) error {
		var release func()
		var err error
		if exclusive {
			release, err = f.gate.Exclusive(ctx)
		} else {
			release, err = f.gate.Shared(ctx)
		}
		if err != nil {
			return err
		}
		defer release()
		f.mu.Lock()
		if exclusive {
			f.lat++
			if f.lat > 1 || f.acc > 0 {
				f.overlaps = append(f.overlaps, fmt.Sprintf("measurement with %d measurements and %d accuracy stages", f.lat, f.acc))
			}
		} else {
			f.acc++
			f.maxAcc = max(f.maxAcc, f.acc)
			if f.lat > 0 {
				f.overlaps = append(f.overlaps, "accuracy stage during a measurement")
			}
		}
		f.mu.Unlock()
		if exclusive && f.onMeasure != nil {
			f.onMeasure()
		}
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
		}
		f.mu.Lock()
		if exclusive {
			f.lat--
		} else {
			f.acc--
		}
		f.mu.Unlock()
		return ctx.Err()
	}
	if f.delay > 0 || f.gate != nil {
		if err := stage(false); err != nil {
			return evaluator.Result{}, err
		}
		if err := stage(true); err != nil {
			return evaluator.Result{}, err
		}
	}
	acc, lat, size := model(a)
	return evaluator.Result{
		Key: key, Arch: a, Accuracy: acc, Metric: "accuracy",
		Latency:          devices.Measurement{Stats: devices.Stats{Runs: 7, Median: lat}, Attempts: 1},
		SizeBytes:        size,
		EvaluatorVersion: evaluator.Version,
	}, nil
}

// teacherResult is the fake teacher's result.
func teacherResult(sp *space.Space) evaluator.Result {
	a := sp.TeacherArch()
	acc, lat, size := model(a)
	return evaluator.Result{Key: a.Key(), Arch: a, Accuracy: acc, Latency: devices.Measurement{Stats: devices.Stats{Median: lat}}, SizeBytes: size}
}

// openStore opens the bbolt file at path as a run Store, closed when the
// test ends.
func openStore(t *testing.T, path string) Store {
	t.Helper()
	f, err := boltfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return NewFileStore(f)
}
