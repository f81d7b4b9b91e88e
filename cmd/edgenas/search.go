package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgenas/edgenas/cluster"
	"github.com/edgenas/edgenas/internal/metricsserver"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/reports"
	"github.com/edgenas/edgenas/train"
)

// runSearch runs a search as a YAML config describes and prints the
// Pareto front and the run directory. SIGINT or SIGTERM stops it at once:
// the state is saved, the front so far is printed marked partial, and the
// command exits 130.
func runSearch(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("search", stderr)
	cfgPath := fs.String("c", "", "search config YAML (required; see configs/demo.yaml)")
	asJSON := fs.Bool("json", false, "print the front as JSON instead of a table")
	fresh := fs.Bool("fresh", false, "start the run over instead of resuming it (cached evaluations are kept)")
	serveNATS := fs.String("serve-nats", "", "start an embedded NATS server on ADDR (host:port; a port alone binds loopback) and have workers (edgenas worker) evaluate")
	reg := newRegistry()
	ctx, run, done, err := openRun(fs, cfgPath, args, "edgenas search -c FILE [--json] [--fresh] [--serve-nats ADDR]", reg, stderr)
	if err != nil {
		return err
	}
	defer done()
	cfg := run.Config
	if *serveNATS != "" {
		cfg.Cluster.Embedded = &pipeline.EmbeddedNATSConfig{Listen: *serveNATS}
		if err := cfg.Cluster.Validate(); err != nil {
			return fmt.Errorf("%w: --serve-nats: %w", errConfig, err)
		}
	}
	fmt.Fprintf(stderr, "search space: %s architectures\n", run.Space.Size())

	if cfg.Metrics.Listen != "" {
		addr, stop, err := metricsserver.Start(ctx, cfg.Metrics, reg, nil)
		if err != nil {
			return fmt.Errorf("%s: metrics: %w", cfg.File, err)
		}
		defer stop()
		scheme := "http"
		if cfg.Metrics.WebConfig != "" {
			scheme = "http(s)"
		}
		fmt.Fprintf(stderr, "metrics: %s://%s%s\n", scheme, addr, metricsserver.Path)
	}
	prog := newSearchProgress(stderr, train.IsTerminal(stderr), cfg.Search.WithDefaults().Budget.MaxEvaluations)
	o := pipeline.SearchOptions{Fresh: *fresh, Progress: prog.event}
	var front *pipeline.Front
	if cfg.Cluster.On() {
		log := warnLog(stderr)
		front, err = cluster.Search(ctx, run, o, log, func(url string) {
			fmt.Fprintf(stderr, "nats: serving workers at %s (edgenas worker --nats %s -c %s)\n", url, url, cfg.File)
		})
	} else {
		front, err = run.Search(ctx, o)
	}
	prog.done()
	if front != nil {
		if perr := printFront(stdout, front, *asJSON); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "interrupted: state saved in %s; run the same command again to resume\n", cfg.RunDir)
			return errInterrupted
		}
		return err
	}
	if p := front.Proxy; p != nil && p.Warning != "" {
		fmt.Fprintf(stderr, "warning: %s\n", p.Warning)
	}
	if len(front.Members) == 0 {
		return fmt.Errorf("%w: none of the %d evaluated candidates meets search.reward's hard limits (min_accuracy, max_latency, max_size_bytes)", errNoFeasible, front.Candidates)
	}
	return nil
}

// newRegistry returns the registry a search's metrics endpoint serves: the
// run's metrics with the Go runtime's and the process's.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// openRun parses a run command's flags (-c FILE among them), loads and
// validates the config (every problem at once, before any expensive work)
// and opens the run under a context that SIGINT and SIGTERM cancel, its
// metrics registered with reg (nil: none). done releases everything.
func openRun(fs *flag.FlagSet, cfgPath *string, args []string, usage string, reg prometheus.Registerer, stderr io.Writer) (ctx context.Context, run *pipeline.Run, done func(), err error) {
	if err := parse(fs, args); err != nil {
		return nil, nil, nil, err
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		return nil, nil, nil, fmt.Errorf("%w: %s", errUsage, usage)
	}
	cfg, err := pipeline.LoadConfig(*cfgPath)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	ctx, stop := interruptible()
	run, err = pipeline.Open(ctx, cfg, pipeline.Options{Progress: stderr, Terminal: train.IsTerminal(stderr), Registerer: reg,
		Log: warnLog(stderr)})
	if err != nil {
		interrupted := ctx.Err() != nil
		stop()
		if interrupted {
			return nil, nil, nil, errInterrupted
		}
		return nil, nil, nil, err
	}
	return ctx, run, func() { run.Close(); stop() }, nil
}

// printFront prints the front table (the teacher first, then the front,
// fastest first), as JSON with asJSON.
func printFront(w io.Writer, f *pipeline.Front, asJSON bool) error {
	t := reports.FrontTable(f)
	if asJSON {
		return t.WriteJSON(w)
	}
	return t.WriteText(w)
}

// errInterrupted marks a command stopped by SIGINT or SIGTERM (exit 130).
var errInterrupted = errors.New("interrupted")

// errConfig marks an invalid config file (exit 2, like a usage error).
var errConfig = errors.New("invalid config")
