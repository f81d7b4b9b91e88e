package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
)

// Search runs run's search (see pipeline.Run.Search) with its evaluations
// spread over the cluster run.Config.Cluster describes: it starts the
// embedded server when configured (its URL is passed to announce, for
// workers to connect to), connects to the cluster, coordinates the
// evaluations, and stops everything when the search returns. o.Evaluator
// is replaced.
func Search(ctx context.Context, run *pipeline.Run, o pipeline.SearchOptions, log *slog.Logger, announce func(url string)) (*pipeline.Front, error) {
	cfg := run.Config.Cluster
	if !cfg.On() {
		return nil, errors.New("cluster: the run's config has no cluster section")
	}
	urls := cfg.URLs
	if cfg.Embedded != nil {
		srv, err := StartServer(cfg, run.Config.RunDir)
		if err != nil {
			return nil, err
		}
		defer srv.Shutdown()
		if announce != nil {
			announce(srv.ClientURL())
		}
		if len(urls) == 0 {
			urls = []string{srv.ClientURL()}
		}
	}
	nc, err := Connect(cfg, urls, "edgenas-coordinator-"+run.ID)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if cfg.WithDefaults().Distribute == pipeline.DistributeObjectStore {
		js, err := jetstream.New(nc)
		if err != nil {
			return nil, fmt.Errorf("jetstream: %w", err)
		}
		m, err := PublishFiles(ctx, js, run)
		if err != nil {
			return nil, err
		}
		if log != nil {
			log.Info("cluster: run files published for workers", "bucket", FilesBucket, "teacher_files", len(m.Teacher), "config", m.Config.Object)
		}
	}
	var coord *Coordinator
	o.Evaluator = func(ev *evaluator.Evaluator) (pipeline.SearchEvaluator, error) {
		coord, err = NewCoordinator(ctx, nc, ev, run.ID, cfg, log)
		return coord, err
	}
	f, err := run.Search(ctx, o)
	if coord != nil {
		coord.Close()
		s := coord.Stats()
		if log != nil {
			log.Info("cluster: coordinator done", "published", s.Published, "duplicate_publications", s.Duplicate, "stored", s.Stored, "ignored", s.Ignored, "failed", s.Failed, "expired", s.Expired)
		}
	}
	return f, err
}

// Work is a worker process that gets the teacher and data from a shared
// path: it opens the run cfg describes with an in-memory cache (the
// coordinator holds the run's cache file), connects to urls (with
// cfg.Cluster's credentials) and evaluates jobs until ctx ends.
func Work(ctx context.Context, cfg *pipeline.Config, urls []string, popts pipeline.Options, wopts WorkerOptions) error {
	popts.Cache = &evaluator.MemCache{Log: popts.Log}
	run, err := pipeline.Open(ctx, cfg, popts)
	if err != nil {
		return err
	}
	defer run.Close()
	nc, err := Connect(cfg.Cluster, urls, "edgenas-worker-"+workerName(&wopts))
	if err != nil {
		return err
	}
	defer nc.Close()
	return serve(ctx, nc, run, wopts)
}

// WorkFetched is a worker process that gets the teacher and data from the
// object store (cluster.distribute: object_store): it connects to urls
// with conn's credentials and TLS, downloads and verifies the files of the
// run last published (FetchFiles) into a private temporary directory
// (removed when it returns), opens that run with an in-memory cache and
// evaluates jobs until ctx ends.
func WorkFetched(ctx context.Context, conn pipeline.ClusterConfig, urls []string, popts pipeline.Options, wopts WorkerOptions) error {
	nc, err := Connect(conn, urls, "edgenas-worker-"+workerName(&wopts))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	dir, err := os.MkdirTemp("", "edgenas-worker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, m, err := FetchFiles(ctx, js, dir, conn, urls)
	if err != nil {
		return err
	}
	if wopts.Log != nil {
		wopts.Log.Info("cluster: run files fetched and verified", "run", m.RunID, "dir", dir)
	}
	popts.Cache = &evaluator.MemCache{Log: popts.Log}
	run, err := pipeline.Open(ctx, cfg, popts)
	if err != nil {
		return err
	}
	defer run.Close()
	return serve(ctx, nc, run, wopts)
}

// workerName sets o.Name to host/pid when empty and returns it.
func workerName(o *WorkerOptions) string {
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	return o.Name
}

// serve evaluates run's jobs over nc until ctx ends.
func serve(ctx context.Context, nc *nats.Conn, run *pipeline.Run, wopts WorkerOptions) error {
	ev, err := run.Evaluator(ctx, run.Config.Compress.Options())
	if err != nil {
		return err
	}
	w, err := NewWorker(ctx, nc, ev, run.Config.Cluster, wopts)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}
