package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
)

// TestCoordinator evaluates through one in-process worker: the accuracy
// and latency jobs' Results are combined and filed in the coordinator's
// cache and served from there the next time (one publication of each
// kind); a failed build comes back as evaluator.ErrBuild; a worker of
// another teacher rejects every attempt, bounded by cluster.attempts.
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
			if r.Key != a.Key() || r.Accuracy != 0.042 || r.Examples != 100 || r.Latency.Median != 42*time.Millisecond || r.Device != "fake" {
				t.Fatalf("got %+v, want accuracy 0.042 on 100 examples and latency 42ms on device fake", r)
			}
		}
		full, err := c.EvaluateFull(ctx, a)
		if err != nil || full.Examples != 1000 || full.Latency.Median != 42*time.Millisecond {
			t.Fatalf("EvaluateFull = %+v, %v; want the full evaluation", full, err)
		}
		if st := c.Stats(); st.Published != 3 || st.Stored != 2 {
			t.Errorf("stats %+v, want 3 publications (accuracy and latency of the subsample, accuracy of full: its latency is the subsample's) and 2 stores", st)
		}
		if acc, lat := workerEv.counts(); acc != 2 || lat != 1 {
			t.Errorf("the worker evaluated %d accuracy and %d latency jobs, want 2 and 1", acc, lat)
		}
		if full.Stages.Latency != 0 {
			t.Errorf("full evaluation charged a latency stage of %v; it measured nothing", full.Stages.Latency)
		}
		// Without a subsample Result, a full evaluation is measured.
		if _, err := c.EvaluateFull(ctx, fakeArch(43)); err != nil {
			t.Fatal(err)
		}
		if _, lat := workerEv.counts(); lat != 2 {
			t.Errorf("a full evaluation of an unevaluated arch: %d latency jobs in all, want 2", lat)
		}
		if _, ok, _ := coordEv.Lookup(coordEv.KeyOn(a, false, "fake")); !ok {
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
		// The first kind to be rejected twice ends the evaluation; the
		// other kind has been published once or twice by then.
		if st := c.Stats(); st.Published < cfg.Attempts+1 || st.Published > 2*cfg.Attempts {
			t.Errorf("published %d times, want cluster.attempts = 2 per kind", st.Published)
		}
		workerEv.mu.Lock()
		defer workerEv.mu.Unlock()
		if workerEv.evaluated != 0 {
			t.Errorf("the rejecting worker evaluated %d jobs", workerEv.evaluated)
		}
	})
}

// TestDeviceRouting starts a worker without a device name and one with
// --device pi (a device of another fingerprint) and a coordinator with
// cluster.device pi: accuracy jobs are taken only by the first, latency
// jobs only by the pi worker, whose fingerprint the coordinator asks for;
// the stored Result's latency and Device are the pi's, filed under the
// key of the pi's fingerprint (never the coordinator's own device's). A
// pi worker of another board (fingerprint) started under the same name
// rejects the latency jobs it takes.
func TestDeviceRouting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	cfg := pipeline.ClusterConfig{Device: "pi", AckWait: time.Second, Attempts: 2}
	tc := newTestCluster(t)
	plain, pi := newFakeEvals("t"), newFakeEvals("t")
	pi.device = "raspberry pi 4"
	taken := map[string][]string{} // worker name → job kinds taken
	var mu sync.Mutex
	onJob := func(name string) func(context.Context, Job) {
		return func(_ context.Context, j Job) {
			mu.Lock()
			defer mu.Unlock()
			taken[name] = append(taken[name], j.Kind)
		}
	}
	tc.worker("plain", plain, cfg, WorkerOptions{Name: "plain", OnJob: onJob("plain")})
	tc.worker("pi", pi, cfg, WorkerOptions{Name: "pi", Device: "pi", OnJob: onJob("pi")})
	coordEv := newFakeEvals("t") // its own device is "fake"
	c := tc.coordinator(coordEv, cfg)
	for i := range 3 {
		a := fakeArch(10 + i)
		r, err := c.Evaluate(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if r.Device != "raspberry pi 4" || r.Latency.Median != time.Duration(11+i)*time.Millisecond || r.Accuracy != float64(11+i)/1000 {
			t.Errorf("%s: got device %q latency %v accuracy %v, want the pi's latency", a.Key(), r.Device, r.Latency.Median, r.Accuracy)
		}
		if got, ok, _ := coordEv.Lookup(coordEv.KeyOn(a, false, "raspberry pi 4")); !ok || got.Device != "raspberry pi 4" {
			t.Errorf("%s: not filed under the pi's fingerprint (%v, %q)", a.Key(), ok, got.Device)
		}
		if _, ok, _ := coordEv.Lookup(coordEv.KeyOn(a, false, "fake")); ok {
			t.Errorf("%s: filed under the coordinator's own device", a.Key())
		}
	}
	mu.Lock()
	for name, want := range map[string]string{"plain": KindAccuracy, "pi": KindLatency} {
		if len(taken[name]) != 3 {
			t.Errorf("worker %s took %d jobs, want 3", name, len(taken[name]))
		}
		for _, k := range taken[name] {
			if k != want {
				t.Errorf("worker %s took a %s job; it takes %s jobs only", name, k, want)
			}
		}
	}
	mu.Unlock()
	if fp, err := c.DeviceFingerprint(ctx); err != nil || fp != "raspberry pi 4" {
		t.Errorf("DeviceFingerprint = %q, %v", fp, err)
	}

	t.Run("other board under the same name", func(t *testing.T) {
		tc := newTestCluster(t)
		other := newFakeEvals("t")
		other.device = "raspberry pi 5"
		c := tc.coordinator(newFakeEvals("t"), cfg)
		c.device = "raspberry pi 4" // as asked before the board was swapped
		tc.worker("plain", newFakeEvals("t"), cfg, WorkerOptions{})
		tc.worker("pi5", other, cfg, WorkerOptions{Device: "pi"})
		if _, err := c.Evaluate(ctx, fakeArch(1)); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "device fingerprint") {
			t.Fatalf("err %v, want ErrRejected naming the device fingerprint", err)
		}
		if _, lat := other.counts(); lat != 0 {
			t.Errorf("the other board measured %d jobs", lat)
		}
	})
}

// TestLateReplies sends a coordinator replies by hand (no worker runs):
// the Result is filed only once both kinds came; a second reply of a
// kind held, and any reply for a key already filed, are ignored and
// change nothing; a latency reply measured on another device than the
// key names is rejected, never filed.
func TestLateReplies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	tc := newTestCluster(t)
	coordEv := newFakeEvals("t")
	cfg := pipeline.ClusterConfig{AckWait: time.Second, Attempts: 1}
	c := tc.coordinator(coordEv, cfg)
	js, err := jetstream.New(tc.connect("fake-worker"))
	if err != nil {
		t.Fatal(err)
	}
	a := fakeArch(7)
	key := coordEv.KeyOn(a, false, "fake")
	hk := hex.EncodeToString(key[:])
	n := 0
	send := func(kind string, r evaluator.Result) {
		t.Helper()
		n++
		data, err := json.Marshal(Reply{Key: hk, Kind: kind, Attempt: 1, Worker: "by hand", Result: &r})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, Results("run-test"), data, jetstream.WithMsgID(strconv.Itoa(n))); err != nil {
			t.Fatal(err)
		}
	}
	res := func(acc float64, lat time.Duration, device string) evaluator.Result {
		r := evaluator.Result{Key: a.Key(), Arch: a, Accuracy: acc, EvaluatorVersion: evaluator.Version, Device: device}
		r.Latency.Median = lat
		return r
	}
	// waitStats waits until cond holds of the coordinator's Stats.
	waitStats := func(what string, cond func(Stats) bool) {
		t.Helper()
		for !cond(c.Stats()) {
			if ctx.Err() != nil {
				t.Fatalf("%s: stats %+v", what, c.Stats())
			}
			sleep(ctx, 10*time.Millisecond)
		}
	}
	send(KindAccuracy, res(0.5, 0, ""))
	send(KindAccuracy, res(0.1, 0, "")) // a duplicate of the held kind
	waitStats("duplicate accuracy", func(s Stats) bool { return s.Ignored == 1 })
	if _, ok, _ := coordEv.Lookup(key); ok {
		t.Fatal("filed before the latency came")
	}
	send(KindLatency, res(0, 9*time.Millisecond, "another device"))
	waitStats("latency of another device", func(s Stats) bool { return s.Mismatched == 1 })
	if _, ok, _ := coordEv.Lookup(key); ok {
		t.Fatal("a latency of another device was filed")
	}
	send(KindLatency, res(0, 3*time.Millisecond, "fake"))
	waitStats("latency", func(s Stats) bool { return s.Stored == 1 })
	send(KindLatency, res(0, time.Second, "fake"))
	send(KindAccuracy, res(0.9, 0, ""))
	waitStats("late replies", func(s Stats) bool { return s.Ignored == 3 })
	r, ok, _ := coordEv.Lookup(key)
	if !ok || r.Accuracy != 0.5 || r.Latency.Median != 3*time.Millisecond || r.Device != "fake" {
		t.Errorf("filed %+v, want the first accuracy (0.5) and the matching latency (3ms)", r)
	}
	if st := c.Stats(); st.Stored != 1 {
		t.Errorf("stats %+v, want one store", st)
	}
}

// FuzzDecodeJob: any message decodes to a valid Job or an error, never a
// panic.
func FuzzDecodeJob(f *testing.F) {
	f.Add([]byte(`{"run_id":"run-1","kind":"accuracy","key":"zz","attempt":1,"arch":{"layers":[{"heads":1,"ffn":2,"bits":32}],"seq_len":16}}`))
	f.Add([]byte(`{"run_id":"r","kind":"latency","device":"pi","key":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff","attempt":1,"arch":{"layers":[{"heads":1,"ffn":2,"bits":32}]}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := DecodeJob(data)
		if err == nil && (len(j.Arch.Layers) == 0 || j.Attempt < 1 || j.RunID == "" ||
			(j.Kind != KindAccuracy && j.Kind != KindLatency) || (j.Kind == KindLatency && j.Device == "")) {
			t.Fatalf("invalid job accepted: %+v", j)
		}
	})
}

// FuzzDecodeReply: any message decodes to a valid Reply or an error,
// never a panic.
func FuzzDecodeReply(f *testing.F) {
	const key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	f.Add([]byte(`{"key":"` + key + `","kind":"latency","attempt":1,"result":{"key":"1h2f32x16","arch":{"layers":[{"heads":1,"ffn":2,"bits":32}]},"evaluator_version":"evaluator-1","device":"pi"}}`))
	f.Add([]byte(`{"key":"` + key + `","kind":"accuracy","attempt":2,"fail":"rejected","error":"teacher"}`))
	f.Add([]byte(`{"key":"zz","kind":"other"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, key, err := DecodeReply(data)
		if err != nil {
			return
		}
		if hex.EncodeToString(key[:]) != strings.ToLower(rep.Key) || rep.Attempt < 1 || (rep.Kind != KindAccuracy && rep.Kind != KindLatency) {
			t.Fatalf("invalid reply accepted: %+v", rep)
		}
		if r := rep.Result; r == nil && rep.Fail == "" || r != nil && (r.Key != r.Arch.Key() || rep.Kind == KindLatency && r.Device == "") {
			t.Fatalf("invalid result accepted: %+v", rep)
		}
	})
}
