package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
)

// WorkerOptions tunes a Worker; the zero value takes accuracy jobs and
// the latency jobs of the run's own device, and logs nothing.
type WorkerOptions struct {
	// Name identifies the worker in replies and logs (default: the NATS
	// connection's name).
	Name string
	// Device makes the worker take only the latency jobs of that device
	// name (JobsLatency(Device), the search's cluster.device) and answer
	// the coordinator's request for its fingerprint; without it the
	// worker takes accuracy jobs (JobsAccuracy) and the latency jobs of
	// the run's own device (JobsLatency("")).
	Device string
	// Log receives every job taken and every failure; nil discards.
	Log *slog.Logger
	// OnJob, when set, is called with each job the worker takes before it
	// evaluates it (progress display; tests use it to hold a job).
	OnJob func(ctx context.Context, j Job)
}

// Worker evaluates the jobs of a run: it pulls them from JetStream,
// evaluates them with its own evaluator (which must not write the run's
// cache file: open its run with pipeline.Options.Cache), publishes each
// Reply, and acknowledges the job.
type Worker struct {
	ev Evaluations
	nc *nats.Conn
	js jetstream.JetStream
	// cons are the job consumers, latency first (it is taken first when
	// both have jobs).
	cons []jetstream.Consumer
	cfg  pipeline.ClusterConfig
	opts WorkerOptions
}

// NewWorker prepares a worker of ev over nc; cfg gives the ack wait and
// delivery bound of the job consumers (shared by every worker of the same
// subject).
func NewWorker(ctx context.Context, nc *nats.Conn, ev Evaluations, cfg pipeline.ClusterConfig, opts WorkerOptions) (*Worker, error) {
	cfg = cfg.WithDefaults()
	if opts.Device != "" && !pipeline.ValidDeviceName(opts.Device) {
		return nil, fmt.Errorf("worker device %q: want 1 to 64 letters, digits, '-' or '_'", opts.Device)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Name == "" {
		opts.Name = nc.Opts.Name
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := ensureStreams(ctx, js, cfg.JobTimeout); err != nil {
		return nil, err
	}
	w := &Worker{ev: ev, nc: nc, js: js, cfg: cfg, opts: opts}
	type queue struct{ subject, durable string }
	queues := []queue{{JobsLatency(""), "workers-latency"}, {JobsAccuracy, "workers-accuracy"}}
	if opts.Device != "" {
		queues = []queue{{JobsLatency(opts.Device), "workers-latency-" + opts.Device}}
	}
	for _, q := range queues {
		cons, err := js.CreateOrUpdateConsumer(ctx, JobsStream, jetstream.ConsumerConfig{Durable: q.durable, FilterSubject: q.subject,
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait, MaxDeliver: cfg.MaxDeliver})
		if err != nil {
			return nil, fmt.Errorf("jobs consumer %s: %w", q.durable, err)
		}
		w.cons = append(w.cons, cons)
	}
	return w, nil
}

// idleFetch is how long a worker with no job waits on its consumers, in
// turn, for one.
const idleFetch = time.Second

// Run takes and evaluates jobs, one at a time, until ctx ends; it
// returns nil then. A job interrupted by ctx is left unacknowledged, so
// another worker gets it after the ack wait. A worker of a named device
// answers requests for its fingerprint meanwhile.
func (w *Worker) Run(ctx context.Context) error {
	if w.opts.Device != "" {
		fp := []byte(w.ev.Fingerprint())
		sub, err := w.nc.QueueSubscribe(DeviceFingerprint(w.opts.Device), "workers", func(m *nats.Msg) { _ = m.Respond(fp) })
		if err != nil {
			return fmt.Errorf("device %s: fingerprint requests: %w", w.opts.Device, err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	for turn := 0; ctx.Err() == nil; turn++ {
		took, err := w.takeNoWait(ctx)
		if err == nil && !took {
			// Idle: wait for a job on one consumer, in turn.
			fctx, cancel := context.WithTimeout(ctx, idleFetch/time.Duration(len(w.cons)))
			var batch jetstream.MessageBatch
			if batch, err = w.cons[turn%len(w.cons)].Fetch(1, jetstream.FetchContext(fctx)); err == nil {
				for m := range batch.Messages() {
					w.handle(ctx, m)
				}
			}
			cancel()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.opts.Log.Warn("cluster: fetch a job", "err", err)
			sleep(ctx, time.Second)
		}
	}
	return nil
}

// takeNoWait evaluates the first job waiting, trying the consumers in
// order; took says whether there was one.
func (w *Worker) takeNoWait(ctx context.Context) (took bool, _ error) {
	for _, cons := range w.cons {
		batch, err := cons.FetchNoWait(1)
		if err != nil {
			return false, err
		}
		for m := range batch.Messages() {
			w.handle(ctx, m)
			took = true
		}
		if took {
			return true, nil
		}
	}
	return false, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// check returns why j does not belong to the worker's run or device (""
// when it does).
func (w *Worker) check(j *Job) string {
	checks := []struct{ what, job, mine string }{
		{"teacher digest", j.Teacher, w.ev.TeacherDigest()},
		{"data digest", j.Data, w.ev.DataDigest()},
		{"evaluator settings", j.Settings, w.ev.SettingsKey()},
		{"builder", j.Builder, w.ev.BuilderKey()},
	}
	if j.Kind == KindLatency {
		checks = append(checks, struct{ what, job, mine string }{"device fingerprint", j.Device, w.ev.Fingerprint()})
	}
	for _, c := range checks {
		if c.job != c.mine {
			return fmt.Sprintf("%s %q, this worker holds %q", c.what, c.job, c.mine)
		}
	}
	return ""
}

// handle evaluates one job and answers it.
func (w *Worker) handle(ctx context.Context, m jetstream.Msg) {
	j, err := DecodeJob(m.Data())
	if err != nil {
		w.opts.Log.Warn("cluster: invalid job dropped", "err", err)
		_ = m.TermWithReason(err.Error())
		return
	}
	rep := Reply{Key: j.Key, Kind: j.Kind, Attempt: j.Attempt, Full: j.Full, Worker: w.opts.Name}
	if why := w.check(&j); why != "" {
		w.opts.Log.Warn("cluster: job of another run or device rejected", "kind", j.Kind, "arch", j.Arch.Key(), "reason", why)
		rep.Fail, rep.Error = FailRejected, why
		if err := w.reply(ctx, j, rep); err != nil {
			_ = m.Nak()
			return
		}
		_ = m.TermWithReason(why)
		return
	}
	w.opts.Log.Info("cluster: evaluating", "kind", j.Kind, "arch", j.Arch.Key(), "full", j.Full, "attempt", j.Attempt)
	// Progress keeps the job ours while it takes longer than the ack wait.
	jctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(w.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = m.InProgress()
			case <-jctx.Done():
				return
			}
		}
	}()
	if w.opts.OnJob != nil {
		w.opts.OnJob(jctx, j)
	}
	var r evaluator.Result
	if j.Kind == KindLatency {
		r, err = w.ev.EvaluateLatency(jctx, j.Arch)
	} else {
		r, err = w.ev.EvaluateAccuracy(jctx, j.Arch, j.Full)
	}
	stop()
	<-done
	if ctx.Err() != nil {
		return // interrupted: redelivered to another worker after the ack wait
	}
	switch {
	case err == nil:
		rep.Result = &r
	case errors.Is(err, evaluator.ErrBuild):
		rep.Fail, rep.Error = FailBuild, err.Error()
	case errors.Is(err, evaluator.ErrMeasure):
		rep.Fail, rep.Error = FailMeasure, err.Error()
	default:
		rep.Fail, rep.Error = FailOther, err.Error()
	}
	if rep.Error != "" {
		w.opts.Log.Warn("cluster: evaluation failed", "arch", j.Arch.Key(), "err", rep.Error)
	}
	if err := w.reply(ctx, j, rep); err != nil {
		w.opts.Log.Warn("cluster: publish a result; the job goes back to the queue", "arch", j.Arch.Key(), "err", err)
		_ = m.Nak()
		return
	}
	if err := m.DoubleAck(ctx); err != nil {
		w.opts.Log.Warn("cluster: ack a job", "arch", j.Arch.Key(), "err", err)
	}
}

// reply publishes rep on the job's run's results subject, de-duplicated
// by key, kind and attempt.
func (w *Worker) reply(ctx context.Context, j Job, rep Reply) error {
	data, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = w.js.Publish(ctx, Results(j.RunID), data, jetstream.WithMsgID(fmt.Sprintf("%s-%s-%d-reply", j.Key, j.Kind, j.Attempt)))
	return err
}
