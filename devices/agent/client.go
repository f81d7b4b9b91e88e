package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/transformer"
)

// Defaults of a client Config.
const (
	// DefaultTimeout bounds one attempt of a request, the wait in the
	// agent's queue and the measurement included.
	DefaultTimeout = 2 * time.Minute
	// DefaultRetryAttempts, DefaultInitialBackoff and DefaultMaxBackoff
	// are the client's retry defaults: short, since the search retries an
	// unavailable device again with its own backoff.
	DefaultRetryAttempts  = 3
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
)

// answerLimit bounds an answer's body.
const answerLimit = 1 << 20

// Config says how to reach an agent: device.agent in a search config. The
// zero value of Timeout and Retry takes the defaults.
type Config struct {
	// URL is the agent's base URL, http://host:port or https://host:port.
	URL string `yaml:"url" json:"url"`
	// TokenFile holds the bearer token the agent was started with.
	TokenFile string `yaml:"token_file" json:"token_file"`
	// CAFile holds the PEM certificates an https agent's certificate is
	// verified with (empty: the system's roots).
	CAFile string `yaml:"ca_file" json:"ca_file,omitempty"`
	// Timeout bounds one attempt of a request (default DefaultTimeout).
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Retry says how a request to an unavailable agent is retried
	// (defaults: DefaultRetryAttempts, DefaultInitialBackoff,
	// DefaultMaxBackoff).
	Retry search.Retry `yaml:"retry" json:"retry,omitzero"`
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retry.MaxAttempts == 0 {
		c.Retry.MaxAttempts = DefaultRetryAttempts
	}
	if c.Retry.InitialBackoff == 0 {
		c.Retry.InitialBackoff = DefaultInitialBackoff
	}
	if c.Retry.MaxBackoff == 0 {
		c.Retry.MaxBackoff = max(DefaultMaxBackoff, c.Retry.InitialBackoff)
	}
	return c
}

// Validate returns every problem of c at once, each a
// *fielderr.FieldError naming its field: the URL must parse as http or
// https with a host, the token file must hold a token and the CA file,
// when given, certificates.
func (c Config) Validate() error {
	_, _, _, err := c.resolve()
	return err
}

// resolve validates c and returns its parsed URL, token and TLS roots.
func (c Config) resolve() (*url.URL, string, *x509.CertPool, error) {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, fielderr.New(field, format, a...)) }
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		bad("url", "missing, want the agent's address, e.g. http://192.168.1.20:7070")
	case err != nil:
		bad("url", "%v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		bad("url", "%q: scheme %q, want http or https", c.URL, u.Scheme)
	case u.Host == "":
		bad("url", "%q has no host", c.URL)
	}
	var tok string
	if c.TokenFile == "" {
		bad("token_file", "missing, want the file holding the token the agent was started with (edgenas agent --token-file)")
	} else if tok, err = ReadToken(c.TokenFile); err != nil {
		bad("token_file", "%v", err)
	}
	var roots *x509.CertPool
	if c.CAFile != "" {
		pem, err := limitio.ReadFile(c.CAFile, limitio.ConfigLimit, "a CA certificate file")
		roots = x509.NewCertPool()
		switch {
		case err != nil:
			bad("ca_file", "%v", err)
		case !roots.AppendCertsFromPEM(pem):
			bad("ca_file", "%s holds no PEM certificate", c.CAFile)
		}
		if err == nil && u != nil && u.Scheme == "http" {
			bad("ca_file", "given for an http URL; want an https URL")
		}
	}
	c = c.withDefaults()
	if c.Timeout < 0 {
		bad("timeout", "%v, want > 0 (0: %v)", c.Timeout, DefaultTimeout)
	}
	if c.Retry.MaxAttempts < 1 {
		bad("retry.max_attempts", "%d, want ≥ 1 (1: no retry)", c.Retry.MaxAttempts)
	}
	if c.Retry.InitialBackoff < 0 {
		bad("retry.initial_backoff", "%v, want > 0", c.Retry.InitialBackoff)
	}
	if c.Retry.MaxBackoff < c.Retry.InitialBackoff {
		bad("retry.max_backoff", "%v, want ≥ retry.initial_backoff (%v)", c.Retry.MaxBackoff, c.Retry.InitialBackoff)
	}
	return u, tok, roots, errors.Join(errs...)
}

// Client is a devices.Device measuring on a remote agent. Use New.
type Client struct {
	cfg   Config
	base  *url.URL
	token string
	http  *http.Client

	mu sync.Mutex // serializes measurements

	fpMu sync.Mutex
	fp   string // cached fingerprint
}

var (
	_ devices.Device    = (*Client)(nil)
	_ devices.Exclusive = (*Client)(nil)
)

// New returns a Client for the agent cfg names; it reads the token and CA
// files but does not contact the agent.
func New(cfg Config) (*Client, error) {
	u, tok, roots, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	tr.Proxy = nil // an agent is on the local network
	return &Client{cfg: cfg.withDefaults(), base: u, token: tok, http: &http.Client{Transport: tr}}, nil
}

// Name returns "agent".
func (c *Client) Name() string { return "agent" }

// MeasuresAlone returns false: the agent measures on its own machine, so
// work of this process does not bend its timings.
func (c *Client) MeasuresAlone() bool { return false }

// Fingerprint returns the agent's Info.Fingerprint, asked once and then
// cached: it leaves out temperatures and current frequencies, so it is
// stable.
func (c *Client) Fingerprint(ctx context.Context) (string, error) {
	c.fpMu.Lock()
	defer c.fpMu.Unlock()
	if c.fp != "" {
		return c.fp, nil
	}
	in, err := c.Info(ctx)
	if err != nil {
		return "", err
	}
	if in.Fingerprint == "" {
		return "", fmt.Errorf("agent %s: empty fingerprint in /v1/info", c.base.Redacted())
	}
	c.fp = in.Fingerprint
	return c.fp, nil
}

// Info asks the agent for its Info (fresh: current frequencies and
// temperatures).
func (c *Client) Info(ctx context.Context) (Info, error) {
	var in Info
	err := c.retry(ctx, func(actx context.Context) error {
		req, err := http.NewRequestWithContext(actx, http.MethodGet, c.endpoint("info"), nil)
		if err != nil {
			return err
		}
		return c.do(ctx, req, &in)
	})
	return in, err
}

// Measure sends m and w to the agent and returns its measurement. It
// validates w first (an error wrapping devices.ErrWorkload), holds the
// client's serialization for the whole measurement and brackets it with
// devices.StartMeasure. An agent that stays unavailable through the
// retries gives an error wrapping devices.ErrUnavailable.
func (c *Client) Measure(ctx context.Context, m *transformer.Model, w devices.Workload) (devices.Measurement, error) {
	w = w.WithDefaults()
	if err := w.Validate(&m.Config); err != nil {
		return devices.Measurement{}, err
	}
	if err := ctx.Err(); err != nil {
		return devices.Measurement{}, err
	}
	cfgJSON, err := m.ConfigJSON()
	if err != nil {
		return devices.Measurement{}, err
	}
	wJSON, err := json.Marshal(w)
	if err != nil {
		return devices.Measurement{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer devices.StartMeasure(ctx)()
	var out devices.Measurement
	err = c.retry(ctx, func(actx context.Context) error {
		out = devices.Measurement{}
		return c.measureOnce(ctx, actx, m, cfgJSON, wJSON, &out)
	})
	if err != nil {
		return devices.Measurement{}, err
	}
	if s := out.Stats; s.Runs < w.Runs || s.Median <= 0 || s.Min > s.Median || s.Median > s.Max || out.Attempts < 1 {
		return devices.Measurement{}, fmt.Errorf("agent %s: implausible measurement %+v for %d runs", c.base.Redacted(), out, w.Runs)
	}
	return out, nil
}

// measureOnce makes one measure request: the body is written through a
// pipe while it is sent, so the model is never held twice in memory.
func (c *Client) measureOnce(ctx, actx context.Context, m *transformer.Model, cfgJSON, wJSON []byte, out *devices.Measurement) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	written := make(chan error, 1)
	go func() {
		err := writeParts(mw, m, cfgJSON, wJSON)
		pw.CloseWithError(err)
		written <- err
	}()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.endpoint("measure"), pr)
	if err != nil {
		pr.Close()
		<-written
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	err = c.do(ctx, req, out)
	pr.CloseWithError(io.ErrClosedPipe) // ends the writer if the request stopped reading
	if werr := <-written; werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		return fmt.Errorf("agent %s: encode the model: %w", c.base.Redacted(), werr)
	}
	return err
}

// writeParts writes a measure request's parts to mw and closes it.
func writeParts(mw *multipart.Writer, m *transformer.Model, cfgJSON, wJSON []byte) error {
	for _, p := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{PartWorkload, func(w io.Writer) error { _, err := w.Write(wJSON); return err }},
		{PartConfig, func(w io.Writer) error { _, err := w.Write(cfgJSON); return err }},
		{PartWeights, m.WriteWeights},
	} {
		pw, err := mw.CreateFormFile(p.name, p.name)
		if err != nil {
			return err
		}
		if err := p.write(pw); err != nil {
			return err
		}
	}
	return mw.Close()
}

func (c *Client) endpoint(name string) string { return c.base.JoinPath("v1", name).String() }

// retry calls f with a context bounded by the timeout until it succeeds,
// fails other than with ErrUnavailable, ctx ends or the attempts are
// spent.
func (c *Client) retry(ctx context.Context, f func(actx context.Context) error) error {
	return c.cfg.Retry.Do(ctx, nil, func() error {
		actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		return f(actx)
	}, nil)
}

// do sends req with the token and decodes a 200 answer's JSON into out.
// ctx is the caller's context: when it has ended its error is returned;
// a failure to reach the agent, a broken answer, a timeout or a 503 wrap
// devices.ErrUnavailable; a refusal (4xx) carries the agent's message.
func (c *Client) do(ctx context.Context, req *http.Request, out any) error {
	req.Header.Set("Authorization", "Bearer "+c.token)
	where := fmt.Sprintf("agent %s: %s %s", c.base.Redacted(), req.Method, req.URL.Path)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", where, ctx.Err())
		}
		return fmt.Errorf("%s: %w: %w", where, devices.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, answerLimit))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", where, ctx.Err())
		}
		return fmt.Errorf("%s: reading the answer: %w: %w", where, devices.ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("%.200q", body)
		}
		err := fmt.Errorf("%s: %s: %s", where, resp.Status, eb.Error)
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout:
			return fmt.Errorf("%w: %w", err, devices.ErrUnavailable)
		case eb.Code == CodeInvalidWorkload:
			return fmt.Errorf("%w: %w", err, devices.ErrWorkload)
		}
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: answer is not the JSON expected: %w", where, err)
	}
	return nil
}
