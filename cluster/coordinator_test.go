package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
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

// handReplies connects a fake worker to tc and returns its JetStream
// context, fakeArch(7), its cache key under ev on device "fake", and a
// function that publishes a Reply of attempt 1 for that key to run
// "run-test" by hand, each with a message id of its own.
func handReplies(ctx context.Context, t *testing.T, tc *testCluster, ev *fakeEvals) (jetstream.JetStream, space.Arch, evaluator.CacheKey, func(Reply)) {
	t.Helper()
	js, err := jetstream.New(tc.connect("fake-worker"))
	if err != nil {
		t.Fatal(err)
	}
	a := fakeArch(7)
	key := ev.KeyOn(a, false, "fake")
	n := 0
	return js, a, key, func(rep Reply) {
		t.Helper()
		n++
		rep.Key, rep.Attempt, rep.Worker = hex.EncodeToString(key[:]), 1, "by hand"
		data, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, Results("run-test"), data, jetstream.WithMsgID(strconv.Itoa(n))); err != nil {
			t.Fatal(err)
		}
	}
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
	_, a, key, byHand := handReplies(ctx, t, tc, coordEv)
	send := func(kind string, r evaluator.Result) {
		t.Helper()
		byHand(Reply{Kind: kind, Result: &r})
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

// TestOrphanReplies fails an evaluation (its latency job fails) and then
// sends its accuracy reply by hand: held for a key nobody waits for, the
// orphan stays unacknowledged (delivered again every resultsAckWait)
// until the jobs stream's duplicate window (cluster.job_timeout, here
// longer than resultsAckWait) and dedupeMargin have passed since it came,
// and is then acknowledged (counted as Expired, the results stream empty)
// and forgotten. Evaluating the key again afterwards, in the same
// coordinator or in one restarted in its place (attempts start at 1
// again), publishes both jobs afresh, none dropped as a duplicate, and a
// worker's replies give the Result.
func TestOrphanReplies(t *testing.T) {
	for _, tt := range []struct {
		name    string
		restart bool
	}{
		{"same coordinator", false},
		{"restarted coordinator", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
			defer cancel()
			tc := newTestCluster(t)
			coordEv := newFakeEvals("t")
			cfg := pipeline.ClusterConfig{AckWait: time.Second, Attempts: 1, JobTimeout: 6 * time.Second}
			c := tc.coordinator(coordEv, cfg)
			if c.orphanAfter <= resultsAckWait {
				t.Fatalf("window %v: the test needs one longer than resultsAckWait (%v) to see an orphan kept when delivered again", c.orphanAfter, resultsAckWait)
			}
			js, a, key, send := handReplies(ctx, t, tc, coordEv)
			// state returns the results consumer's unacknowledged count,
			// the results stream's and the jobs stream's message counts.
			state := func() (ackPending int, results, jobs uint64) {
				t.Helper()
				cons, err := js.Consumer(ctx, ResultsStream, "results-run-test")
				if err != nil {
					t.Fatal(err)
				}
				ci, err := cons.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				n := []uint64{0, 0}
				for i, name := range []string{ResultsStream, JobsStream} {
					s, err := js.Stream(ctx, name)
					if err != nil {
						t.Fatal(err)
					}
					si, err := s.Info(ctx)
					if err != nil {
						t.Fatal(err)
					}
					n[i] = si.State.Msgs
				}
				return ci.NumAckPending, n[0], n[1]
			}
			// waitFor polls until cond holds.
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				for !cond() {
					if ctx.Err() != nil {
						t.Fatalf("%s: stats %+v", what, c.Stats())
					}
					sleep(ctx, 20*time.Millisecond)
				}
			}
			evaluate := func(c *Coordinator) <-chan error {
				errc := make(chan error, 1)
				go func() {
					r, err := c.Evaluate(ctx, a)
					if err == nil && (r.Accuracy != 0.008 || r.Latency.Median != 8*time.Millisecond) {
						err = fmt.Errorf("got accuracy %v latency %v, want 0.008 and 8ms", r.Accuracy, r.Latency.Median)
					}
					errc <- err
				}()
				return errc
			}

			errc := evaluate(c)
			waitFor("jobs published", func() bool { return c.Stats().Published == 2 })
			send(Reply{Kind: KindLatency, Fail: FailMeasure, Error: "board unplugged"})
			if err := <-errc; !errors.Is(err, evaluator.ErrMeasure) {
				t.Fatalf("err %v, want ErrMeasure", err)
			}
			sent := time.Now()
			r := evaluator.Result{Key: a.Key(), Arch: a, Accuracy: 0.5, EvaluatorVersion: evaluator.Version}
			send(Reply{Kind: KindAccuracy, Result: &r})
			waitFor("orphan held", func() bool { n, _, _ := state(); return n == 1 })
			// Within the window it stays held and unacknowledged.
			for c.Stats().Expired == 0 {
				if n, msgs, _ := state(); c.Stats().Expired == 0 && (n != 1 || msgs != 1) {
					t.Fatalf("before the window: %d unacknowledged, %d in the results stream; want the orphan held (1, 1)", n, msgs)
				}
				if ctx.Err() != nil {
					t.Fatalf("the orphan never expired: stats %+v", c.Stats())
				}
				sleep(ctx, 100*time.Millisecond)
			}
			if held := time.Since(sent); held < c.orphanAfter {
				t.Errorf("the orphan expired %v after it was sent, before the window %v", held, c.orphanAfter)
			}
			waitFor("orphan acknowledged", func() bool { n, msgs, _ := state(); return n == 0 && msgs == 0 })
			c.mu.Lock()
			parts := len(c.parts)
			c.mu.Unlock()
			if st := c.Stats(); st.Expired != 1 || st.Stored != 0 || parts != 0 {
				t.Fatalf("stats %+v with %d keys held, want 1 expired, none stored, none held", st, parts)
			}

			if tt.restart {
				c.Close()
				c.nc.Close() // as a coordinator that died
				c = tc.coordinator(coordEv, cfg)
			}
			_, _, jobsBefore := state()
			before := c.Stats()
			errc = evaluate(c)
			waitFor("jobs published again", func() bool { return c.Stats().Published == before.Published+2 })
			if st := c.Stats(); st.Duplicate != before.Duplicate {
				t.Errorf("stats %+v, want no job dropped as a duplicate", st)
			}
			if _, _, jobs := state(); jobs != jobsBefore+2 {
				t.Errorf("jobs stream holds %d messages, want %d (both jobs published again)", jobs, jobsBefore+2)
			}
			tc.worker("worker", newFakeEvals("t"), cfg, WorkerOptions{})
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := coordEv.Lookup(key); !ok {
				t.Error("the result is not in the cache")
			}
		})
	}
}

// TestExpired tells which held replies expire: only one with a message
// whose key nobody waits for and that came longer than the window ago.
func TestExpired(t *testing.T) {
	const window = time.Minute
	key := evaluator.NewCacheKey("arch", "t", "data", "fake", evaluator.Version)
	now := time.Now()
	for _, tt := range []struct {
		name   string
		waited bool
		msg    jetstream.Msg
		age    time.Duration
		want   bool
	}{
		{"nobody waits, past the window", false, stubMsg{}, window + time.Second, true},
		{"nobody waits, within the window", false, stubMsg{}, window - time.Second, false},
		{"nobody waits, at the window's end", false, stubMsg{}, window, false},
		{"waited for, past the window", true, stubMsg{}, 10 * window, false},
		{"taken from the cache, past the window", false, nil, 10 * window, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Coordinator{waiting: map[evaluator.CacheKey]*pending{}, orphanAfter: window}
			if tt.waited {
				c.waiting[key] = &pending{count: 1}
			}
			p := &part{msg: tt.msg, since: now.Add(-tt.age)}
			if got := c.expired(key, p, now); got != tt.want {
				t.Errorf("expired = %v, want %v", got, tt.want)
			}
		})
	}
}

// stubMsg stands for a held reply's message; expired never reads it.
type stubMsg struct{ jetstream.Msg }

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
