package cluster

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/pipeline"
)

// secretLimit bounds a token, seed or certificate file.
const secretLimit = 1 << 20

// Server is an embedded NATS server with JetStream.
type Server struct {
	s *server.Server
}

// StartServer starts the embedded NATS server cfg.Embedded describes
// (cfg must be validated; see pipeline.ClusterConfig), with JetStream's
// files under cfg.Embedded.StoreDir or, by default, runDir/nats; it
// requires cfg's token or NKey and presents cfg's TLS certificate. It
// returns once the server accepts connections.
func StartServer(cfg pipeline.ClusterConfig, runDir string) (*Server, error) {
	cfg = cfg.WithDefaults()
	if cfg.Embedded == nil {
		return nil, errors.New("nats: no embedded server configured")
	}
	host, port, err := net.SplitHostPort(cfg.Embedded.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen %q: %w", cfg.Embedded.Listen, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("nats listen %q: port: %w", cfg.Embedded.Listen, err)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	store := cfg.Embedded.StoreDir
	if store == "" {
		store = filepath.Join(runDir, "nats")
	}
	opts := &server.Options{Host: host, Port: p, JetStream: true, StoreDir: store, NoSigs: true, NoLog: true, ServerName: "edgenas"}
	if cfg.TokenFile != "" {
		if opts.Authorization, err = readSecret(cfg.TokenFile, "token"); err != nil {
			return nil, err
		}
	}
	if cfg.NKeyFile != "" {
		kp, err := readNKey(cfg.NKeyFile)
		if err != nil {
			return nil, err
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("nkey %s: %w", cfg.NKeyFile, err)
		}
		opts.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	}
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats tls: %w", err)
		}
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		opts.TLS = true
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server on %s: not ready after 30s", cfg.Embedded.Listen)
	}
	return &Server{s: s}, nil
}

// ClientURL is the URL clients connect to (with the port chosen when the
// listen address asked for port 0).
func (s *Server) ClientURL() string { return s.s.ClientURL() }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}

// Connect connects to the NATS servers at urls with the credentials and
// TLS roots cfg names; name identifies the client in the server's
// monitoring. It reconnects for ever after a lost connection.
func Connect(cfg pipeline.ClusterConfig, urls []string, name string) (*nats.Conn, error) {
	if len(urls) == 0 {
		return nil, errors.New("nats: no server URL")
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if cfg.TokenFile != "" {
		tok, err := readSecret(cfg.TokenFile, "token")
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Token(tok))
	}
	if cfg.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nkey %s: %w", cfg.NKeyFile, err)
		}
		opts = append(opts, o)
	}
	if cfg.TLS.CAFile != "" {
		pem, err := limitio.ReadFile(cfg.TLS.CAFile, secretLimit, "a CA file")
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("nats tls: %s holds no PEM certificate", cfg.TLS.CAFile)
		}
		opts = append(opts, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	all := strings.Join(urls, ",")
	nc, err := nats.Connect(all, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats connect %s: %w", all, err)
	}
	return nc, nil
}

// readSecret reads a token file: its text without surrounding space,
// which must not be empty.
func readSecret(path, what string) (string, error) {
	data, err := limitio.ReadFile(path, secretLimit, "a "+what+" file")
	if err != nil {
		return "", err
	}
	s := string(bytes.TrimSpace(data))
	if s == "" {
		return "", fmt.Errorf("%s file %s is empty", what, path)
	}
	return s, nil
}

// readNKey reads a user NKey seed file.
func readNKey(path string) (nkeys.KeyPair, error) {
	seed, err := readSecret(path, "nkey seed")
	if err != nil {
		return nil, err
	}
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return nil, fmt.Errorf("nkey %s: %w", path, err)
	}
	return kp, nil
}
