package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/edgenas/edgenas/devices/agent"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/internal/metricsserver"
)

// agentGrace bounds how long a stopping agent lets its in-flight
// measurement finish before cancelling it.
const agentGrace = 30 * time.Second

// agentOptions are the flags of edgenas agent.
type agentOptions struct {
	listen, tokenFile, cert, key string
	maxBody                      int64
	queue, blocks                int
	grace                        time.Duration
}

// runAgent serves the agent API (devices/agent) until SIGINT or SIGTERM,
// then shuts down gracefully.
func runAgent(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent", stderr)
	var o agentOptions
	fs.StringVar(&o.listen, "listen", "7070", "address to serve on: host:port, :port or a port; without a host it binds 127.0.0.1 only (give 0.0.0.0:7070 to serve the network)")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the bearer token clients must present (required)")
	fs.StringVar(&o.cert, "tls-cert", "", "PEM certificate to serve HTTPS with (with --tls-key)")
	fs.StringVar(&o.key, "tls-key", "", "PEM private key of --tls-cert")
	fs.Int64Var(&o.maxBody, "max-body", agent.DefaultMaxBody, "largest measure request body in bytes (the student's weights and config)")
	fs.IntVar(&o.queue, "queue", agent.DefaultQueue, "how many measurements may wait while one runs; more are refused with 503")
	fs.IntVar(&o.blocks, "blocks", 1, "times each measurement times the workload, keeping the fastest block (device.local.blocks: for a board shared with other work)")
	if err := parse(fs, args); err != nil {
		return err
	}
	const use = "edgenas agent --listen ADDR --token-file F [--tls-cert F --tls-key F] [--max-body BYTES] [--queue N] [--blocks N]"
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q; usage: %s", errUsage, fs.Arg(0), use)
	case o.tokenFile == "":
		return fmt.Errorf("%w: --token-file is required; usage: %s", errUsage, use)
	case (o.cert == "") != (o.key == ""):
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	case o.maxBody <= 0:
		return fmt.Errorf("%w: --max-body %d, want > 0", errUsage, o.maxBody)
	case o.queue < 0:
		return fmt.Errorf("%w: --queue %d, want ≥ 0", errUsage, o.queue)
	case o.blocks < 1 || o.blocks > local.MaxBlocks:
		return fmt.Errorf("%w: --blocks %d, want 1 to %d", errUsage, o.blocks, local.MaxBlocks)
	}
	o.grace = agentGrace
	ctx, stop := interruptible()
	defer stop()
	return serveAgent(ctx, o, stderr)
}

// serveAgent serves until ctx ends, then stops accepting requests and
// waits up to o.grace for the in-flight ones (a running measurement
// finishes) before cancelling them.
func serveAgent(ctx context.Context, o agentOptions, stderr io.Writer) error {
	tok, err := agent.ReadToken(o.tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %w", err)
	}
	addr, err := metricsserver.Config{Listen: o.listen}.Address()
	if err != nil {
		return fmt.Errorf("%w: --listen %v", errUsage, err)
	}
	var tlsCfg *tls.Config
	if o.cert != "" {
		cert, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	queue := o.queue
	if queue == 0 {
		queue = -1 // none wait
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	s, err := agent.NewServer(agent.ServerConfig{Token: tok, MaxBody: o.maxBody, Queue: queue, Version: Version, Log: log,
		Local: local.Config{Blocks: o.blocks}})
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{Handler: s.Handler(), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return base }}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	log.Info("agent listening", "url", scheme+"://"+ln.Addr().String(), "device", info.String(), "fingerprint", info.Fingerprint,
		"max_body", limitio.Size(o.maxBody), "queue", o.queue)
	served := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("agent stopping: waiting for the measurement in flight", "grace", o.grace)
	sctx, scancel := context.WithTimeout(context.Background(), o.grace)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		cancel() // cancels the measurement in flight
		srv.Close()
		log.Warn("agent stopped: the measurement in flight was cancelled", "err", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("agent stopped")
	return nil
}
