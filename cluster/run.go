package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

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
			log.Info("cluster: coordinator done", "published", s.Published, "duplicate_publications", s.Duplicate, "stored", s.Stored, "ignored", s.Ignored, "failed", s.Failed)
		}
	}
	return f, err
}

// Work is a worker process: it opens the run cfg describes with an
// in-memory cache (the coordinator holds the run's cache file), connects
// to urls (with cfg.Cluster's credentials) and evaluates jobs until ctx
// ends.
func Work(ctx context.Context, cfg *pipeline.Config, urls []string, popts pipeline.Options, wopts WorkerOptions) error {
	popts.Cache = &evaluator.MemCache{Log: popts.Log}
	run, err := pipeline.Open(ctx, cfg, popts)
	if err != nil {
		return err
	}
	defer run.Close()
	ev, err := run.Evaluator(ctx, cfg.Compress.Options())
	if err != nil {
		return err
	}
	if wopts.Name == "" {
		host, _ := os.Hostname()
		wopts.Name = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	nc, err := Connect(cfg.Cluster, urls, "edgenas-worker-"+wopts.Name)
	if err != nil {
		return err
	}
	defer nc.Close()
	w, err := NewWorker(ctx, nc, ev, cfg.Cluster, wopts)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}
