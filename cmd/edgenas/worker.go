package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgenas/edgenas/cluster"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/train"
)

// runWorker evaluates the jobs of a search spread over a cluster (see
// package cluster) until SIGINT or SIGTERM: it opens the run its config
// describes (the same teacher and data as the search, from a shared path)
// with an in-memory cache, and takes jobs from the NATS server.
func runWorker(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("worker", stderr)
	cfgPath := fs.String("c", "", "the search's config YAML (required: the worker builds and scores students from the same teacher and data)")
	urls := fs.String("nats", "", "NATS server URLs, comma-separated (default: the config's cluster.urls)")
	device := fs.String("device", "", "take the jobs of this device name (cluster.device of the search) instead of any worker's")
	tokenFile := fs.String("token-file", "", "file holding the NATS token (default: the config's cluster.token_file)")
	if err := parse(fs, args); err != nil {
		return err
	}
	const use = "edgenas worker --nats URL [--device NAME] -c FILE [--token-file F]"
	if *cfgPath == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	if *device != "" && !pipeline.ValidDeviceName(*device) {
		return fmt.Errorf("%w: --device %q, want 1 to 64 letters, digits, '-' or '_'", errUsage, *device)
	}
	cfg, err := pipeline.LoadConfig(*cfgPath)
	if err != nil {
		return fmt.Errorf("%w: %w", errConfig, err)
	}
	servers := cfg.Cluster.URLs
	if *urls != "" {
		servers = strings.Split(*urls, ",")
	}
	if len(servers) == 0 {
		return fmt.Errorf("%w: no NATS server: give --nats URL or cluster.urls in %s; usage: %s", errUsage, *cfgPath, use)
	}
	if *tokenFile != "" {
		cfg.Cluster.TokenFile, cfg.Cluster.NKeyFile = *tokenFile, ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fmt.Fprintf(stderr, "worker: taking %s jobs from %s\n", deviceOrAny(*device), strings.Join(servers, ","))
	err = cluster.Work(ctx, cfg, servers, pipeline.Options{Progress: stderr, Terminal: train.IsTerminal(stderr), Log: log},
		cluster.WorkerOptions{Device: *device, Log: log})
	if err != nil && ctx.Err() != nil {
		return errInterrupted
	}
	return err
}

// deviceOrAny names the jobs a worker takes.
func deviceOrAny(device string) string {
	if device == "" {
		return "any worker's"
	}
	return "device " + device + "'s"
}
