package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
)

// TestCoordinator evaluates through one in-process worker: a Result is
// filed in the coordinator's cache and served from there the next time
// (one publication); a failed build comes back as evaluator.ErrBuild; a
// worker of another teacher rejects every attempt, bounded by
// cluster.attempts.
func TestCoordinator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	cfg := pipeline.ClusterConfig{Attempts: 2, AckWait: time.Second}
	t.Run("result filed and reused", func(t *testing.T) {
		coordEv, workerEv := newFakeEvals("t"), newFakeEvals("t")
		c := startCluster(t, coordEv, workerEv, cfg, 1)
		a := fakeArch(41)
		for range 2 {
			r, err := c.Evaluate(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if r.Key != a.Key() || r.Accuracy != 0.042 {
				t.Fatalf("got %+v", r)
			}
		}
		full, err := c.EvaluateFull(ctx, a)
		if err != nil || full.Examples != 1 {
			t.Fatalf("EvaluateFull = %+v, %v; want the full evaluation", full, err)
		}
		if st := c.Stats(); st.Published != 2 || st.Stored != 2 {
			t.Errorf("stats %+v, want 2 publications (subsample, full) and 2 stores", st)
		}
		if _, ok, _ := coordEv.Lookup(coordEv.Key(a, false)); !ok {
			t.Error("the result is not in the coordinator's cache")
		}
	})
	t.Run("build failure", func(t *testing.T) {
		workerEv := newFakeEvals("t")
		workerEv.fail = evaluator.ErrBuild
		c := startCluster(t, newFakeEvals("t"), workerEv, cfg, 1)
		if _, err := c.Evaluate(ctx, fakeArch(1)); !errors.Is(err, evaluator.ErrBuild) {
			t.Fatalf("err %v, want ErrBuild", err)
		}
	})
	t.Run("other teacher rejected", func(t *testing.T) {
		workerEv := newFakeEvals("another teacher")
		c := startCluster(t, newFakeEvals("t"), workerEv, cfg, 1)
		if _, err := c.Evaluate(ctx, fakeArch(1)); !errors.Is(err, ErrRejected) {
			t.Fatalf("err %v, want ErrRejected", err)
		}
		if st := c.Stats(); st.Published != 2 {
			t.Errorf("published %d times, want cluster.attempts = 2", st.Published)
		}
		workerEv.mu.Lock()
		defer workerEv.mu.Unlock()
		if workerEv.evaluated != 0 {
			t.Errorf("the rejecting worker evaluated %d jobs", workerEv.evaluated)
		}
	})
}

// FuzzDecodeJob: any message decodes to a valid Job or an error, never a
// panic.
func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"run_id":"run-1","key":"zz","attempt":1,"arch":{"layers":[{"heads":1,"ffn":2,"bits":32}],"seq_len":16}}`))
	f.Add([]byte(`{"run_id":"r","key":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff","attempt":1,"arch":{"layers":[{"heads":1,"ffn":2,"bits":32}]}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := DecodeJob(data)
		if err == nil && (len(j.Arch.Layers) == 0 || j.Attempt < 1 || j.RunID == "") {
			t.Fatalf("invalid job accepted: %+v", j)
		}
	})
}
