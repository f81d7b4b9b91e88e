package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/edgenas/edgenas/cluster"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/train"
)

// runWorker evaluates the jobs of a search spread over a cluster (see
// package cluster) until SIGINT or SIGTERM: it opens the run the search's
// config describes with an in-memory cache, the teacher and data either
// from a shared path (-c: the same config, teacher and data as the search)
// or downloaded from the cluster's object store (no -c, --fetch, or
// cluster.distribute: object_store), and takes jobs from the NATS server.
func runWorker(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("worker", stderr)
	cfgPath := fs.String("c", "", "the search's config YAML, when the worker reads the same teacher and data from a shared path (omit to fetch them from the object store)")
	fetch := fs.Bool("fetch", false, "download the teacher, data and config from the cluster's object store (the search runs with cluster.distribute: object_store); with -c, only its cluster connection settings are used")
	urls := fs.String("nats", "", "NATS server URLs, comma-separated (default: the config's cluster.urls)")
	device := fs.String("device", "", "take only the latency jobs of this device name (cluster.device of the search), measured here; without it, take accuracy jobs and the latency jobs of the run's own device")
	tokenFile := fs.String("token-file", "", "file holding the NATS token (default: the config's cluster.token_file)")
	if err := parse(fs, args); err != nil {
		return err
	}
	const use = "edgenas worker --nats URL [--device NAME] [-c FILE [--fetch]] [--token-file F]"
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	if *device != "" && !pipeline.ValidDeviceName(*device) {
		return fmt.Errorf("%w: --device %q, want 1 to 64 letters, digits, '-' or '_'", errUsage, *device)
	}
	var cfg *pipeline.Config
	var conn pipeline.ClusterConfig
	if *cfgPath != "" {
		var err error
		if cfg, err = pipeline.LoadConfig(*cfgPath); err != nil {
			return fmt.Errorf("%w: %w", errConfig, err)
		}
		conn = cfg.Cluster
		*fetch = *fetch || cfg.Cluster.Distribute == pipeline.DistributeObjectStore
	} else {
		*fetch = true
	}
	servers := conn.URLs
	if *urls != "" {
		servers = strings.Split(*urls, ",")
	}
	if len(servers) == 0 {
		return fmt.Errorf("%w: no NATS server: give --nats URL (or cluster.urls in the config of -c); usage: %s", errUsage, use)
	}
	if *tokenFile != "" {
		conn.TokenFile, conn.NKeyFile = *tokenFile, ""
		if cfg != nil {
			cfg.Cluster.TokenFile, cfg.Cluster.NKeyFile = *tokenFile, ""
		}
	}
	ctx, stop := interruptible()
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	popts := pipeline.Options{Progress: stderr, Terminal: train.IsTerminal(stderr), Log: log}
	wopts := cluster.WorkerOptions{Device: *device, Log: log}
	var err error
	if *fetch {
		fmt.Fprintf(stderr, "worker: fetching the run's files from the object store, then taking %s jobs from %s\n", deviceOrAny(*device), strings.Join(servers, ","))
		err = cluster.WorkFetched(ctx, conn, servers, popts, wopts)
	} else {
		fmt.Fprintf(stderr, "worker: taking %s jobs from %s\n", deviceOrAny(*device), strings.Join(servers, ","))
		err = cluster.Work(ctx, cfg, servers, popts, wopts)
	}
	if err != nil && ctx.Err() != nil {
		return errInterrupted
	}
	return err
}

// deviceOrAny names the jobs a worker takes.
func deviceOrAny(device string) string {
	if device == "" {
		return "accuracy jobs and the run's own device's latency"
	}
	return "device " + device + "'s latency"
}
