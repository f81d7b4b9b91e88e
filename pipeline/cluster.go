package pipeline

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/internal/yamlconf"
)

// ClusterConfig spreads a search's evaluations over worker processes
// through NATS JetStream (package cluster): the search publishes a job
// per evaluation and files the Results workers send back in its cache.
// It is on when URLs or Embedded is given; the zero value runs every
// evaluation in the search process.
type ClusterConfig struct {
	// URLs of an external NATS server or cluster with JetStream enabled
	// (nats://host:4222, tls://host:4222).
	URLs []string `yaml:"urls"`
	// Embedded starts a NATS server with JetStream inside the search
	// process (its store under the run directory), for workers to connect
	// to; with URLs empty the search uses it too.
	Embedded *EmbeddedNATSConfig `yaml:"embedded"`
	// TokenFile holds the token clients authenticate with (and the
	// embedded server requires). ${VAR} is expanded.
	TokenFile string `yaml:"token_file"`
	// NKeyFile holds a user NKey seed (SU…) clients authenticate with; the
	// embedded server accepts its public key. ${VAR} is expanded.
	NKeyFile string `yaml:"nkey_file"`
	// TLS secures connections: clients verify servers against CAFile; the
	// embedded server presents CertFile and KeyFile.
	TLS ClusterTLSConfig `yaml:"tls"`
	// Device routes the latency half of every evaluation to workers
	// started with --device DEVICE, so latency is measured on that device
	// (and cached under its fingerprint); the accuracy half goes to any
	// worker without a device name. Empty: latency is measured on the
	// run's own device, by workers without a device name.
	Device string `yaml:"device"`
	// AckWait is how long a job may go without word from its worker
	// (workers report progress every third of it) before it is delivered
	// to another worker (default 30s).
	AckWait time.Duration `yaml:"ack_wait"`
	// MaxDeliver bounds how often one job is delivered (default 5).
	MaxDeliver int `yaml:"max_deliver"`
	// JobTimeout bounds how long the search waits for one evaluation's
	// Result before the attempt fails (default 1h; search.retry decides
	// what happens next). It is also the streams' duplicate window, and
	// how long the coordinator holds a reply nobody waits for before it
	// drops it (a late reply of a failed evaluation): give workers and
	// the search the same value.
	JobTimeout time.Duration `yaml:"job_timeout"`
	// Attempts bounds how often one evaluation is published after workers
	// rejected it or its attempt failed (default 3).
	Attempts int `yaml:"attempts"`
	// Distribute says how workers get the teacher and data:
	// DistributeSharedPath (default: they open the same config and see the
	// same files) or DistributeObjectStore (the search puts the files in a
	// JetStream object store; workers download and verify them).
	Distribute string `yaml:"distribute"`
}

// Ways workers get the teacher and data (ClusterConfig.Distribute).
const (
	DistributeSharedPath  = "shared_path"
	DistributeObjectStore = "object_store"
)

// EmbeddedNATSConfig is the NATS server a search starts for its workers.
type EmbeddedNATSConfig struct {
	// Listen is host:port (default 127.0.0.1:4222); a port alone (":4222")
	// binds loopback only. Binding beyond loopback needs token_file or
	// nkey_file.
	Listen string `yaml:"listen"`
	// StoreDir holds JetStream's files (default: nats in the run
	// directory). ${VAR} is expanded.
	StoreDir string `yaml:"store_dir"`
}

// ClusterTLSConfig names the TLS files of a cluster.
type ClusterTLSConfig struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Cluster defaults.
const (
	DefaultNATSListen     = "127.0.0.1:4222"
	DefaultClusterAckWait = 30 * time.Second
	DefaultMaxDeliver     = 5
	DefaultJobTimeout     = time.Hour
	DefaultJobAttempts    = 3
)

// On reports whether evaluations are spread over workers.
func (c ClusterConfig) On() bool { return len(c.URLs) > 0 || c.Embedded != nil }

// WithDefaults returns c with every zero field set to its default.
func (c ClusterConfig) WithDefaults() ClusterConfig {
	if c.AckWait == 0 {
		c.AckWait = DefaultClusterAckWait
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.Attempts == 0 {
		c.Attempts = DefaultJobAttempts
	}
	if c.Distribute == "" {
		c.Distribute = DistributeSharedPath
	}
	if c.Embedded != nil {
		e := *c.Embedded
		if e.Listen == "" {
			e.Listen = DefaultNATSListen
		}
		if host, port, err := net.SplitHostPort(e.Listen); err == nil && host == "" {
			e.Listen = net.JoinHostPort("127.0.0.1", port)
		}
		c.Embedded = &e
	}
	return c
}

// ValidDeviceName reports whether s may name a cluster device (a worker's
// --device, a NATS subject token): 1 to 64 letters, digits, '-' or '_'.
func ValidDeviceName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Validate returns every problem of c at once, each a *FieldError naming
// its field; ${VAR} in file names is expanded in place.
func (c *ClusterConfig) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, fielderr.New(field, format, a...)) }
	for _, p := range []struct {
		field string
		v     *string
	}{{"token_file", &c.TokenFile}, {"nkey_file", &c.NKeyFile}, {"tls.ca_file", &c.TLS.CAFile},
		{"tls.cert_file", &c.TLS.CertFile}, {"tls.key_file", &c.TLS.KeyFile}} {
		if *p.v == "" {
			continue
		}
		v, err := yamlconf.ExpandEnv(*p.v)
		if err != nil {
			bad(p.field, "%v", err)
			continue
		}
		*p.v = v
	}
	if c.Embedded != nil && c.Embedded.StoreDir != "" {
		if v, err := yamlconf.ExpandEnv(c.Embedded.StoreDir); err != nil {
			bad("embedded.store_dir", "%v", err)
		} else {
			c.Embedded.StoreDir = v
		}
	}
	if !c.On() {
		if c.TokenFile != "" || c.NKeyFile != "" || c.TLS != (ClusterTLSConfig{}) || c.Device != "" || c.Distribute != "" {
			bad("", "settings given but neither urls nor embedded: want urls (an external NATS server) or embedded (one started by the search)")
		}
		return errors.Join(errs...)
	}
	for i, u := range c.URLs {
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || (pu.Scheme != "nats" && pu.Scheme != "tls" && pu.Scheme != "ws" && pu.Scheme != "wss") {
			bad("urls["+strconv.Itoa(i)+"]", "%q, want nats://host:port (or tls://, ws://, wss://)", u)
		}
	}
	if c.TokenFile != "" && c.NKeyFile != "" {
		bad("nkey_file", "given with token_file; want one way to authenticate")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "want both cert_file and key_file, or neither")
	}
	if c.Embedded != nil {
		e := c.WithDefaults().Embedded
		host, port, err := net.SplitHostPort(e.Listen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			bad("embedded.listen", "%q, want host:port or :port", c.Embedded.Listen)
		} else if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && c.TokenFile == "" && c.NKeyFile == "" {
			bad("embedded.listen", "%q binds beyond loopback without authentication; set token_file or nkey_file", e.Listen)
		}
	}
	if c.Device != "" && !ValidDeviceName(c.Device) {
		bad("device", "%q, want 1 to 64 letters, digits, '-' or '_'", c.Device)
	}
	if c.AckWait < 0 || (c.AckWait > 0 && c.AckWait < 100*time.Millisecond) {
		bad("ack_wait", "%v, want ≥ 100ms (0: %v)", c.AckWait, DefaultClusterAckWait)
	}
	if c.MaxDeliver < 0 {
		bad("max_deliver", "%d, want ≥ 1 (0: %d)", c.MaxDeliver, DefaultMaxDeliver)
	}
	if c.JobTimeout < 0 {
		bad("job_timeout", "%v, want > 0 (0: %v)", c.JobTimeout, DefaultJobTimeout)
	}
	if c.Distribute != "" && c.Distribute != DistributeSharedPath && c.Distribute != DistributeObjectStore {
		bad("distribute", "%q, want %s or %s", c.Distribute, DistributeSharedPath, DistributeObjectStore)
	}
	if c.Attempts < 0 {
		bad("attempts", "%d, want ≥ 1 (0: %d)", c.Attempts, DefaultJobAttempts)
	}
	return errors.Join(errs...)
}
