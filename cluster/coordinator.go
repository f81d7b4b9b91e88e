package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/space"
)

// ErrRejected marks an evaluation every attempt of which was rejected by
// the workers that took it (their teacher, data or settings differ).
var ErrRejected = errors.New("workers rejected the evaluation")

// Coordinator is a pipeline.SearchEvaluator that has evaluations done by
// workers: on a miss in the run's cache it publishes an accuracy Job and
// a latency Job, waits for both Replies, and files their combination in
// the cache (it alone writes it).
type Coordinator struct {
	ev      Evaluations
	nc      *nats.Conn
	js      jetstream.JetStream
	cfg     pipeline.ClusterConfig
	runID   string
	log     *slog.Logger
	consume jetstream.ConsumeContext

	// fpMu serializes resolving device, the fingerprint of the device
	// that measures latency ("" until known).
	fpMu   sync.Mutex
	device string

	mu       sync.Mutex
	waiting  map[evaluator.CacheKey]*pending
	attempts map[jobID]int
	// jobs holds the last job published per key and kind, until the
	// evaluation is filed or fails.
	jobs map[jobID]Job
	// parts holds the Replies of one kind whose other kind has not come
	// yet, unacknowledged, so a coordinator that dies loses none, until
	// they expire (see expired).
	parts map[evaluator.CacheKey]map[string]*part
	// orphanAfter is how long a reply held for a key nobody waits for is
	// kept: the jobs stream's duplicate window (cluster.job_timeout) and
	// dedupeMargin.
	orphanAfter time.Duration
	stats       Stats
}

// jobID names one job of an evaluation.
type jobID struct {
	key  evaluator.CacheKey
	kind string
}

// part is one kind's Result held until the other kind's comes.
type part struct {
	rep   Reply
	msg   jetstream.Msg
	seq   uint64    // the reply's stream sequence
	since time.Time // when this coordinator first took the reply
}

// resultsAckWait is how long a reply taken by a coordinator that died
// (or held while the other kind is awaited) waits before it is delivered
// again. A held reply is delivered again every resultsAckWait until the
// other kind's comes or, when nobody waits for its key, it expires.
const resultsAckWait = 5 * time.Second

// dedupeMargin is added to the jobs stream's duplicate window before a
// held reply nobody waits for expires: the server forgets a message id on
// a timer that fires a little after the window ends.
const dedupeMargin = time.Second

// fingerprintWait bounds one request for the device's fingerprint.
const fingerprintWait = time.Second

// pending is one evaluation waited for; replies are sent on ch.
type pending struct {
	ch    chan Reply
	count int // how many callers wait
}

// Stats counts a Coordinator's traffic.
type Stats struct {
	// Published counts jobs published, of both kinds (duplicates the
	// stream dropped included); Duplicate those it dropped.
	Published, Duplicate int
	// Stored counts combined Results filed in the cache; Ignored the
	// replies that came for a key already cached or for a kind already
	// held (late or duplicate replies).
	Stored, Ignored int
	// Failed counts failed replies; Mismatched the latency replies
	// measured on another device than their key names, and accuracy
	// replies of another architecture, which are rejected.
	Failed, Mismatched int
	// Expired counts held replies acknowledged unused because nobody
	// waited for their key for longer than the jobs stream's duplicate
	// window (cluster.job_timeout) after they came: replies that came
	// after their evaluation failed or timed out, or that a restarted
	// coordinator took and the search never asked for again.
	Expired int
}

var _ pipeline.SearchEvaluator = (*Coordinator)(nil)

// NewCoordinator starts coordinating the evaluations of ev (the run's
// own evaluator, whose cache it fills) for the run runID over nc, with
// the settings of cfg. It creates the streams and its results consumer,
// and takes every reply left from an earlier coordinator of the run
// before it returns, so a restarted search evaluates nothing twice.
//
// Latency is measured on the run's own device (ev.Fingerprint()) by
// workers started without a device name, or, when cfg.Device names a
// device, by that device's workers: the Coordinator asks them for their
// fingerprint before its first evaluation (waiting up to cfg.JobTimeout
// for one to start), and every cache key and latency job names it.
func NewCoordinator(ctx context.Context, nc *nats.Conn, ev Evaluations, runID string, cfg pipeline.ClusterConfig, log *slog.Logger) (*Coordinator, error) {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := ensureStreams(ctx, js, cfg.JobTimeout); err != nil {
		return nil, err
	}
	c := &Coordinator{ev: ev, nc: nc, js: js, cfg: cfg, runID: runID, log: log,
		waiting: map[evaluator.CacheKey]*pending{}, attempts: map[jobID]int{}, jobs: map[jobID]Job{}, parts: map[evaluator.CacheKey]map[string]*part{},
		orphanAfter: cfg.JobTimeout + dedupeMargin}
	if cfg.Device == "" {
		c.device = ev.Fingerprint()
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, ResultsStream, jetstream.ConsumerConfig{
		Durable: "results-" + runID, FilterSubject: Results(runID), AckPolicy: jetstream.AckExplicitPolicy, AckWait: resultsAckWait})
	if err != nil {
		return nil, fmt.Errorf("results consumer: %w", err)
	}
	// Replies published while no coordinator ran are taken first.
	for {
		batch, err := cons.FetchNoWait(64)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			c.handle(m)
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, fmt.Errorf("results: %w", err)
		}
		if n == 0 {
			break
		}
	}
	if c.consume, err = cons.Consume(c.handle); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return c, nil
}

// Close stops consuming results; evaluations still waiting fail when
// their context ends. Replies held for their other kind stay
// unacknowledged, for the next coordinator of the run (which lets them
// expire like its own).
func (c *Coordinator) Close() { c.consume.Stop() }

// Stats returns the traffic so far.
func (c *Coordinator) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Evaluate implements search.Evaluator: a's Result on the subsample.
func (c *Coordinator) Evaluate(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	return c.evaluate(ctx, a, false)
}

// EvaluateFull is a's Result on every example.
func (c *Coordinator) EvaluateFull(ctx context.Context, a space.Arch) (evaluator.Result, error) {
	return c.evaluate(ctx, a, true)
}

// DeviceFingerprint returns the fingerprint of the device that measures
// the run's latency, part of every cache key: the run's own device's, or,
// with cluster.device, the one a worker of that device reports (asked
// once, waiting up to cluster.job_timeout for such a worker).
func (c *Coordinator) DeviceFingerprint(ctx context.Context) (string, error) {
	c.fpMu.Lock()
	defer c.fpMu.Unlock()
	if c.device != "" {
		return c.device, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.JobTimeout)
	defer cancel()
	for logged := false; ; logged = true {
		rctx, rcancel := context.WithTimeout(ctx, fingerprintWait)
		m, err := c.nc.RequestWithContext(rctx, DeviceFingerprint(c.cfg.Device), nil)
		rcancel()
		if err == nil && len(m.Data) > 0 {
			c.device = string(m.Data)
			c.log.Info("cluster: latency is measured on device "+c.cfg.Device, "fingerprint", c.device)
			return c.device, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("cluster.device %s: no worker of the device reported its fingerprint (start one with edgenas worker --device %s): %w", c.cfg.Device, c.cfg.Device, ctx.Err())
		}
		if !logged {
			c.log.Info("cluster: waiting for a worker of device "+c.cfg.Device, "err", err)
		}
		sleep(ctx, fingerprintWait/4)
	}
}

func (c *Coordinator) evaluate(ctx context.Context, a space.Arch, full bool) (evaluator.Result, error) {
	fp, err := c.DeviceFingerprint(ctx)
	if err != nil {
		return evaluator.Result{}, err
	}
	key := c.ev.KeyOn(a, full, fp)
	if r, ok, err := c.ev.Lookup(key); err != nil || ok {
		return r, err
	}
	p, first := c.wait(key)
	if first {
		// A reply filed between the lookup and the wait is in the cache.
		if r, ok, err := c.ev.Lookup(key); err != nil || ok {
			c.unwait(key, p)
			return r, err
		}
		kinds := []string{KindAccuracy, KindLatency}
		if full && c.holdMeasured(key, a, fp) {
			kinds = kinds[:1]
		}
		for _, kind := range kinds {
			job := Job{RunID: c.runID, Kind: kind, Key: hex.EncodeToString(key[:]), Arch: a, Full: full,
				Teacher: c.ev.TeacherDigest(), Data: c.ev.DataDigest(), Settings: c.ev.SettingsKey(), Builder: c.ev.BuilderKey()}
			if kind == KindLatency {
				job.Device = fp
			}
			if err := c.publish(ctx, key, job); err != nil {
				c.unwait(key, p)
				return evaluator.Result{}, err
			}
		}
	}
	rep, err := c.await(ctx, key, p)
	if err != nil {
		return evaluator.Result{}, err
	}
	if rep.Result != nil {
		return *rep.Result, nil
	}
	c.drop(key)
	err = fmt.Errorf("evaluate %s: %s job: worker %s: %s", a.Key(), rep.Kind, rep.Worker, rep.Error)
	switch rep.Fail {
	case FailBuild:
		return evaluator.Result{}, fmt.Errorf("%w: %w", evaluator.ErrBuild, err)
	case FailMeasure:
		return evaluator.Result{}, fmt.Errorf("%w: %w", evaluator.ErrMeasure, err)
	case FailRejected:
		return evaluator.Result{}, fmt.Errorf("%w after %d attempts: %w", ErrRejected, rep.Attempt, err)
	default:
		return evaluator.Result{}, err
	}
}

// holdMeasured holds, as key's latency part, a's measurement on the
// subsample by device fp when the cache has it, and says whether it did:
// rescoring on every example (key) then publishes only the accuracy job,
// since latency does not depend on the examples scored and the rescored
// point keeps the latency the search saw. The part holds no message.
func (c *Coordinator) holdMeasured(key evaluator.CacheKey, a space.Arch, fp string) bool {
	m, ok, err := c.ev.Lookup(c.ev.KeyOn(a, false, fp))
	if err != nil || !ok {
		return false
	}
	m.Stages = evaluator.Stages{} // no work done for this evaluation
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held(key)[KindLatency] = &part{rep: Reply{Key: hex.EncodeToString(key[:]), Kind: KindLatency, Full: true, Result: &m}}
	return true
}

// held returns the replies held for key by kind, made empty if there are
// none; c.mu is held.
func (c *Coordinator) held(key evaluator.CacheKey) map[string]*part {
	h := c.parts[key]
	if h == nil {
		h = map[string]*part{}
		c.parts[key] = h
	}
	return h
}

// wait registers a caller waiting for key; first says it must publish.
func (c *Coordinator) wait(key evaluator.CacheKey) (p *pending, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p = c.waiting[key]; p == nil {
		p = &pending{ch: make(chan Reply, 1)}
		c.waiting[key] = p
		first = true
	}
	p.count++
	return p, first
}

// unwait removes a caller of p; the last one removes p.
func (c *Coordinator) unwait(key evaluator.CacheKey, p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.count--; p.count == 0 && c.waiting[key] == p {
		delete(c.waiting, key)
	}
}

// await waits for key's reply, the job timeout or ctx's end.
func (c *Coordinator) await(ctx context.Context, key evaluator.CacheKey, p *pending) (Reply, error) {
	defer c.unwait(key, p)
	t := time.NewTimer(c.cfg.JobTimeout)
	defer t.Stop()
	select {
	case rep := <-p.ch:
		// Other callers waiting for the same key get it too.
		notify(p, rep)
		return rep, nil
	case <-t.C:
		return Reply{}, fmt.Errorf("evaluation %x: no result after %v (cluster.job_timeout)", key[:8], c.cfg.JobTimeout)
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
}

// notify hands rep to p's callers unless one is already there.
func notify(p *pending, rep Reply) {
	select {
	case p.ch <- rep:
	default:
	}
}

// publish publishes the next attempt of job (its Kind for key),
// de-duplicated by key, kind and attempt, unless a reply of that kind is
// held; the job is kept for publishing again after a rejection.
func (c *Coordinator) publish(ctx context.Context, key evaluator.CacheKey, job Job) error {
	id := jobID{key, job.Kind}
	c.mu.Lock()
	if c.parts[key][job.Kind] != nil {
		c.mu.Unlock()
		return nil
	}
	c.attempts[id]++
	job.Attempt = c.attempts[id]
	c.jobs[id] = job
	c.mu.Unlock()
	subject := JobsAccuracy
	if job.Kind == KindLatency {
		subject = JobsLatency(c.cfg.Device)
	}
	data, err := json.Marshal(job)
	if err != nil {
		return err
	}
	ack, err := c.js.Publish(ctx, subject, data, jetstream.WithMsgID(job.Key+"-"+job.Kind+"-"+strconv.Itoa(job.Attempt)))
	if err != nil {
		return fmt.Errorf("publish %s job %s: %w", job.Kind, job.Arch.Key(), err)
	}
	c.mu.Lock()
	c.stats.Published++
	if ack.Duplicate {
		c.stats.Duplicate++
	}
	c.mu.Unlock()
	return nil
}

// drop acknowledges and forgets the replies held for key, whose
// evaluation failed, and its jobs.
func (c *Coordinator) drop(key evaluator.CacheKey) {
	c.mu.Lock()
	held := c.parts[key]
	delete(c.parts, key)
	c.forget(key)
	c.mu.Unlock()
	for _, p := range held {
		c.ack(p.msg)
	}
}

// forget forgets key's published jobs; c.mu is held.
func (c *Coordinator) forget(key evaluator.CacheKey) {
	delete(c.jobs, jobID{key, KindAccuracy})
	delete(c.jobs, jobID{key, KindLatency})
}

// ack acknowledges m; nil (a part taken from the cache) is no message.
func (c *Coordinator) ack(m jetstream.Msg) {
	if m == nil {
		return
	}
	if err := m.Ack(); err != nil {
		c.log.Warn("cluster: ack a result", "err", err)
	}
}

// handle takes one reply: a failure goes to whoever waits for its job's
// current attempt; a Result is held until the other kind's comes, then
// the two are combined, filed in the cache and handed to whoever waits.
func (c *Coordinator) handle(m jetstream.Msg) {
	rep, key, err := DecodeReply(m.Data())
	if err != nil {
		c.log.Warn("cluster: invalid result dropped", "err", err)
		c.ack(m)
		return
	}
	if rep.Result == nil {
		c.ack(m)
		c.fail(key, rep, false)
		return
	}
	if r, ok, err := c.ev.Lookup(key); err == nil && ok {
		c.ack(m)
		c.mu.Lock()
		c.stats.Ignored++
		p := c.waiting[key]
		c.mu.Unlock()
		if p != nil {
			notify(p, Reply{Key: rep.Key, Result: &r})
		}
		return
	}
	if rep.Kind == KindLatency && c.ev.KeyOn(rep.Result.Arch, rep.Full, rep.Result.Device) != key {
		// Filed under key, this latency would be served for a device that
		// did not measure it.
		c.log.Warn("cluster: a latency measured on another device than the job's rejected", "arch", rep.Result.Key, "worker", rep.Worker, "worker_device", rep.Result.Device)
		c.ack(m)
		why := fmt.Sprintf("measured on device %q, not the one the job named", rep.Result.Device)
		rep.Result, rep.Fail, rep.Error = nil, FailRejected, why
		c.fail(key, rep, true)
		return
	}
	var seq uint64
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	c.mu.Lock()
	held := c.held(key)
	if old := held[rep.Kind]; old != nil {
		if old.seq == seq {
			old.msg = m // the held reply delivered again
			if !c.expired(key, old, time.Now()) {
				c.mu.Unlock()
				return // still held
			}
			if delete(held, rep.Kind); len(held) == 0 {
				delete(c.parts, key)
			}
			c.stats.Expired++
			c.mu.Unlock()
			c.log.Info("cluster: a reply nobody waited for within the duplicate window (cluster.job_timeout) dropped",
				"arch", rep.Result.Key, "kind", rep.Kind, "worker", rep.Worker, "held", time.Since(old.since).Round(time.Second))
			c.ack(m)
			return
		}
		c.stats.Ignored++
		c.mu.Unlock()
		c.ack(m)
		return
	}
	held[rep.Kind] = &part{rep: rep, msg: m, seq: seq, since: time.Now()}
	acc, lat := held[KindAccuracy], held[KindLatency]
	if acc == nil || lat == nil {
		c.mu.Unlock()
		return
	}
	if acc.rep.Result.Key != lat.rep.Result.Key || acc.rep.Full != lat.rep.Full {
		// The latency reply is bound to key (checked above); this one is not.
		delete(held, KindAccuracy)
		c.mu.Unlock()
		c.log.Warn("cluster: an accuracy result of another evaluation rejected", "arch", acc.rep.Result.Key, "worker", acc.rep.Worker)
		c.ack(acc.msg)
		rep := acc.rep
		rep.Result, rep.Fail, rep.Error = nil, FailRejected, "accuracy result of architecture "+acc.rep.Result.Key+", not the job's"
		c.fail(key, rep, true)
		return
	}
	delete(c.parts, key)
	c.forget(key)
	c.mu.Unlock()
	r := combine(*acc.rep.Result, *lat.rep.Result)
	c.ev.Store(key, r)
	c.ack(acc.msg)
	c.ack(lat.msg)
	c.mu.Lock()
	c.stats.Stored++
	p := c.waiting[key]
	c.mu.Unlock()
	if p != nil {
		notify(p, Reply{Key: rep.Key, Result: &r})
	}
}

// expired says whether p, held for key, is no longer worth holding:
// nobody waits for key (its evaluation failed, timed out or never began
// in this coordinator) and p came more than orphanAfter ago. Until then a
// coordinator started in this one's place may need p: attempts restart
// at 1 there, so the job it publishes for key is a duplicate the jobs
// stream drops while within its duplicate window, and p is the only
// answer it gets. That job was published before p came, so once
// orphanAfter has passed since, it is published afresh. The time p came
// is taken on this machine's monotonic clock rather than from the
// reply's stream timestamp, which is in the server's clock. A part taken
// from the cache (no message) is never delivered again: it is left to its
// evaluation. c.mu is held.
func (c *Coordinator) expired(key evaluator.CacheKey, p *part, now time.Time) bool {
	return p.msg != nil && c.waiting[key] == nil && now.Sub(p.since) > c.orphanAfter
}

// republishTimeout bounds publishing a rejected job again.
const republishTimeout = 30 * time.Second

// fail counts a failed (or, mismatched, a rejected) reply. A rejection
// of the current attempt is published again while cluster.attempts
// allows; any other failure of the current attempt, and the last
// rejection, go to whoever waits.
func (c *Coordinator) fail(key evaluator.CacheKey, rep Reply, mismatched bool) {
	id := jobID{key, rep.Kind}
	c.mu.Lock()
	if mismatched {
		c.stats.Mismatched++
	} else {
		c.stats.Failed++
	}
	p := c.waiting[key]
	job, published := c.jobs[id]
	current := rep.Attempt == c.attempts[id]
	c.mu.Unlock()
	if !current {
		return // an earlier attempt's failure, already handled
	}
	if rep.Fail == FailRejected && published && rep.Attempt < c.cfg.Attempts {
		c.log.Warn("cluster: a worker rejected a job; publishing it again", "arch", job.Arch.Key(), "kind", rep.Kind, "worker", rep.Worker, "reason", rep.Error)
		ctx, cancel := context.WithTimeout(context.Background(), republishTimeout)
		err := c.publish(ctx, key, job)
		cancel()
		if err == nil {
			return
		}
		rep.Fail, rep.Error = FailOther, err.Error()
	}
	if p != nil {
		notify(p, rep)
	}
}
