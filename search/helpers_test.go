package search

import (
	"context"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// fakeEval is a deterministic Evaluator. Each call takes delay; fail, when
// set, may fail the n-th call (from 1) for a key instead.
type fakeEval struct {
	delay time.Duration
	fail  func(key string, n int) error

	calls     atomic.Int64
	mu        sync.Mutex
	seen      map[string]int
	active    int // calls in progress
	maxActive int
}

func (f *fakeEval) Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	f.calls.Add(1)
	key := a.Key()
	f.mu.Lock()
	if f.seen == nil {
		f.seen = map[string]int{}
	}
	f.seen[key]++
	n := f.seen[key]
	f.active++
	f.maxActive = max(f.maxActive, f.active)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()
	if f.fail != nil {
		if err := f.fail(key, n); err != nil {
			return evaluator.Result{}, err
		}
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return evaluator.Result{}, ctx.Err()
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

// failKey fails every call for key with err.
func failKey(key string, err error) func(string, int) error {
	return func(k string, _ int) error {
		if k == key {
			return err
		}
		return nil
	}
}

// sleeps records the backoffs a run waits, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

// option makes Run record its backoffs in s instead of sleeping.
func (s *sleeps) option() Option {
	return func(o *options) {
		o.sleep = func(ctx context.Context, d time.Duration) error {
			s.mu.Lock()
			s.d = append(s.d, d)
			s.mu.Unlock()
			return ctx.Err()
		}
	}
}

// gather returns the value (or the sample count) of every metric in reg,
// by name, labels appended as {name="value",...}; it fails the test when a
// metric lacks the edgenas_ prefix or a label value is a candidate key.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "edgenas_") {
			t.Errorf("metric %s lacks the edgenas_ prefix", mf.GetName())
		}
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			var labels []string
			for _, l := range m.GetLabel() {
				if _, err := space.ParseKey(l.GetValue()); err == nil {
					t.Errorf("%s has a candidate key as label %s", name, l.GetName())
				}
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				got[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[name] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[name] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return got
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
