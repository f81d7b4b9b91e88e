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
// workers: on a miss in the run's cache it publishes a Job and waits for
// the Reply, which it files in the cache (it alone writes it).
type Coordinator struct {
	ev      Evaluations
	js      jetstream.JetStream
	cfg     pipeline.ClusterConfig
	runID   string
	subject string
	log     *slog.Logger
	consume jetstream.ConsumeContext

	mu       sync.Mutex
	waiting  map[evaluator.CacheKey]*pending
	attempts map[evaluator.CacheKey]int
	stats    Stats
	// warned says a reply measured on another device was logged.
	warned bool
}

// resultsAckWait is how long a reply taken by a coordinator that died
// waits before it is delivered to the next.
const resultsAckWait = 5 * time.Second

// pending is one evaluation waited for; replies are sent on ch.
type pending struct {
	ch    chan Reply
	count int // how many callers wait
}

// Stats counts a Coordinator's traffic.
type Stats struct {
	// Published counts jobs published (duplicates the stream dropped
	// included); Duplicate those it dropped.
	Published, Duplicate int
	// Stored counts Results filed in the cache; Ignored those that came
	// for a key already cached (late or duplicate replies).
	Stored, Ignored int
	// Failed counts failed replies.
	Failed int
}

var _ pipeline.SearchEvaluator = (*Coordinator)(nil)

// NewCoordinator starts coordinating the evaluations of ev (the run's
// own evaluator, whose cache it fills) for the run runID over nc, with
// the settings of cfg. It creates the streams and its results consumer,
// and files every reply left from an earlier coordinator of the run
// before it returns, so a restarted search evaluates nothing twice.
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
	c := &Coordinator{ev: ev, js: js, cfg: cfg, runID: runID, subject: JobsAny, log: log,
		waiting: map[evaluator.CacheKey]*pending{}, attempts: map[evaluator.CacheKey]int{}}
	if cfg.Device != "" {
		c.subject = JobsDevice(cfg.Device)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, ResultsStream, jetstream.ConsumerConfig{
		Durable: "results-" + runID, FilterSubject: Results(runID), AckPolicy: jetstream.AckExplicitPolicy, AckWait: resultsAckWait})
	if err != nil {
		return nil, fmt.Errorf("results consumer: %w", err)
	}
	// Replies published while no coordinator ran are filed first.
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
// their context ends.
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

func (c *Coordinator) evaluate(ctx context.Context, a space.Arch, full bool) (evaluator.Result, error) {
	key := c.ev.Key(a, full)
	if r, ok, err := c.ev.Lookup(key); err != nil || ok {
		return r, err
	}
	for {
		p, first := c.wait(key)
		if first {
			// A reply filed between the lookup and the wait is in the cache.
			if r, ok, err := c.ev.Lookup(key); err != nil || ok {
				c.unwait(key, p)
				return r, err
			}
			if err := c.publish(ctx, key, a, full); err != nil {
				c.unwait(key, p)
				return evaluator.Result{}, err
			}
		}
		rep, err := c.await(ctx, key, p)
		if err != nil {
			return evaluator.Result{}, err
		}
		if rep.Result != nil {
			return *rep.Result, nil
		}
		err = fmt.Errorf("evaluate %s: worker %s: %s", a.Key(), rep.Worker, rep.Error)
		switch rep.Fail {
		case FailBuild:
			return evaluator.Result{}, fmt.Errorf("%w: %w", evaluator.ErrBuild, err)
		case FailMeasure:
			return evaluator.Result{}, fmt.Errorf("%w: %w", evaluator.ErrMeasure, err)
		case FailRejected:
			c.mu.Lock()
			n := c.attempts[key]
			c.mu.Unlock()
			if n >= c.cfg.Attempts {
				return evaluator.Result{}, fmt.Errorf("%w after %d attempts: %w", ErrRejected, n, err)
			}
			c.log.Warn("cluster: a worker rejected an evaluation; publishing it again", "arch", a.Key(), "worker", rep.Worker, "reason", rep.Error)
			continue
		default:
			return evaluator.Result{}, err
		}
	}
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
		select {
		case p.ch <- rep:
		default:
		}
		return rep, nil
	case <-t.C:
		return Reply{}, fmt.Errorf("evaluation %x: no result after %v (cluster.job_timeout)", key[:8], c.cfg.JobTimeout)
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
}

// publish publishes the next attempt of key's job, de-duplicated by key
// and attempt.
func (c *Coordinator) publish(ctx context.Context, key evaluator.CacheKey, a space.Arch, full bool) error {
	c.mu.Lock()
	c.attempts[key]++
	attempt := c.attempts[key]
	c.mu.Unlock()
	hk := hex.EncodeToString(key[:])
	job := Job{RunID: c.runID, Key: hk, Attempt: attempt, Arch: a, Full: full,
		Teacher: c.ev.TeacherDigest(), Data: c.ev.DataDigest(), Settings: c.ev.SettingsKey(), Builder: c.ev.BuilderKey()}
	data, err := json.Marshal(job)
	if err != nil {
		return err
	}
	ack, err := c.js.Publish(ctx, c.subject, data, jetstream.WithMsgID(hk+"-"+strconv.Itoa(attempt)))
	if err != nil {
		return fmt.Errorf("publish job %s: %w", a.Key(), err)
	}
	c.mu.Lock()
	c.stats.Published++
	if ack.Duplicate {
		c.stats.Duplicate++
	}
	c.mu.Unlock()
	return nil
}

// handle files one reply and hands it to whoever waits for it.
func (c *Coordinator) handle(m jetstream.Msg) {
	defer func() {
		if err := m.Ack(); err != nil {
			c.log.Warn("cluster: ack a result", "err", err)
		}
	}()
	var rep Reply
	if err := json.Unmarshal(m.Data(), &rep); err != nil {
		c.log.Warn("cluster: undecodable result dropped", "err", err)
		return
	}
	var key evaluator.CacheKey
	if b, err := hex.DecodeString(rep.Key); err != nil || len(b) != len(key) {
		c.log.Warn("cluster: result with a bad key dropped", "key", rep.Key, "worker", rep.Worker)
		return
	} else {
		copy(key[:], b)
	}
	if rep.Result == nil {
		c.mu.Lock()
		c.stats.Failed++
		p := c.waiting[key]
		stale := rep.Attempt != c.attempts[key]
		c.mu.Unlock()
		if p == nil || stale {
			return // nobody waits for this attempt any more
		}
		select {
		case p.ch <- rep:
		default:
		}
		return
	}
	if rep.Result.EvaluatorVersion != evaluator.Version {
		c.log.Warn("cluster: result of another evaluator version dropped", "version", rep.Result.EvaluatorVersion, "worker", rep.Worker)
		return
	}
	if fp := c.ev.Fingerprint(); rep.Result.Device != fp {
		c.mu.Lock()
		warn := !c.warned
		c.warned = true
		c.mu.Unlock()
		if warn {
			c.log.Warn("cluster: a worker measured on another device than this run's; its results are filed under this run's device fingerprint",
				"worker", rep.Worker, "worker_device", rep.Result.Device, "run_device", fp)
		}
	}
	if _, ok, err := c.ev.Lookup(key); err == nil && ok {
		c.mu.Lock()
		c.stats.Ignored++
		c.mu.Unlock()
	} else {
		c.ev.Store(key, *rep.Result)
		c.mu.Lock()
		c.stats.Stored++
		c.mu.Unlock()
	}
	c.mu.Lock()
	p := c.waiting[key]
	c.mu.Unlock()
	if p != nil {
		select {
		case p.ch <- rep:
		default:
		}
	}
}
