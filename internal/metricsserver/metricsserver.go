package metricsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/edgenas/edgenas/internal/fielderr"
)

// Path is the only path the server answers; every other path is 404.
const Path = "/metrics"

// DefaultHost is the host a listen address without one binds to.
const DefaultHost = "127.0.0.1"

// shutdownGrace bounds how long stop waits for in-flight scrapes.
const shutdownGrace = 5 * time.Second

// Config says where and how metrics are served. The zero value serves
// nothing.
type Config struct {
	// Listen is the address of the endpoint: "host:port", ":port" or a
	// bare "port". Without a host it binds to 127.0.0.1 (loopback only);
	// give "0.0.0.0:9090" or "[::]:9090" to listen on every interface.
	// Empty: no endpoint.
	Listen string `yaml:"listen"`
	// WebConfig is the path of an exporter-toolkit web configuration file
	// (tls_server_config, basic_auth_users with bcrypt hashes, ...).
	// Relative certificate paths in it are relative to the file. Empty:
	// plain HTTP without authentication.
	WebConfig string `yaml:"web_config"`
}

// Address returns the address Listen binds to: Listen with DefaultHost
// filled in when it has no host. It fails when Listen is not "host:port",
// ":port" or a port number in 0..65535; it returns "" for an empty Listen.
func (c Config) Address() (string, error) {
	if c.Listen == "" {
		return "", nil
	}
	listen := c.Listen
	if _, err := strconv.ParseUint(listen, 10, 16); err == nil {
		listen = ":" + listen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("%q: want host:port, :port or a port number: %w", c.Listen, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("%q: port %q, want a number in 0..65535", c.Listen, port)
	}
	if strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%q: host %q is not a host name or IP address", c.Listen, host)
	}
	if host == "" {
		host = DefaultHost
	}
	return net.JoinHostPort(host, port), nil
}

// Validate returns every problem with the configuration at once, joined
// with errors.Join, each as "field: problem". It reads and checks the web
// configuration file (YAML, bcrypt hashes, certificates and keys) with the
// exporter-toolkit's own validation, so that a bad file is reported before
// any expensive work starts.
func (c Config) Validate() error {
	var errs []error
	if _, err := c.Address(); err != nil {
		errs = append(errs, fielderr.New("listen", "%v", err))
	}
	if c.WebConfig != "" {
		if c.Listen == "" {
			errs = append(errs, fielderr.New("web_config", "%s given without listen", c.WebConfig))
		}
		if _, err := os.Stat(c.WebConfig); err != nil {
			errs = append(errs, fielderr.New("web_config", "%v", err))
		} else if err := web.Validate(c.WebConfig); err != nil {
			errs = append(errs, fielderr.New("web_config", "%s: %v", c.WebConfig, err))
		}
	}
	return errors.Join(errs...)
}

// Start validates cfg, binds its address and serves g on Path, with TLS and
// basic authentication as cfg.WebConfig says, until ctx is done or stop is
// called. It returns the bound address (with the actual port when the
// configured one is 0). With an empty cfg.Listen it serves nothing and
// returns "", a no-op stop and no error. log receives the server's
// messages; nil discards them.
//
// stop shuts the server down, waiting up to a few seconds for scrapes in
// flight, and returns once it no longer serves.
func Start(ctx context.Context, cfg Config, g prometheus.Gatherer, log *slog.Logger) (addr string, stop func(), err error) {
	if err := cfg.Validate(); err != nil {
		return "", nil, err
	}
	if cfg.Listen == "" {
		return "", func() {}, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bind, _ := cfg.Address() // checked by Validate
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	webConfig := cfg.WebConfig
	flags := &web.FlagConfig{
		WebListenAddresses: &[]string{ln.Addr().String()},
		WebSystemdSocket:   new(bool),
		WebConfigFile:      &webConfig,
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := web.Serve(ln, srv, flags, log); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "address", ln.Addr().String(), "err", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close()
			}
			ln.Close() // in case Serve had not reached Accept yet
			<-served
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-served:
		}
	}()
	return ln.Addr().String(), stop, nil
}
