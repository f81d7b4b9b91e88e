package agent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/transformer"
)

// Defaults of a ServerConfig.
const (
	// DefaultMaxBody bounds a measure request's body: BERT-base in F32
	// (about 440 MB) fits.
	DefaultMaxBody = 512 << 20
	// DefaultQueue is how many measurements may wait beside the running one.
	DefaultQueue = 8
)

// workloadLimit bounds the workload part of a measure request.
const workloadLimit = 64 << 10

// Part names of a measure request's multipart body.
const (
	PartWorkload = "workload"
	PartConfig   = "config"
	PartWeights  = "weights"
)

// CodeInvalidWorkload is the code of an error answer for a workload that
// does not validate (devices.ErrWorkload).
const CodeInvalidWorkload = "invalid_workload"

// ServerConfig configures a Server; the zero value of each field but
// Token takes its default.
type ServerConfig struct {
	// Token is the bearer token every request but health must carry.
	Token string
	// MaxBody bounds a measure request's body in bytes (default
	// DefaultMaxBody); a larger one is refused with 413.
	MaxBody int64
	// Queue is how many measurements may wait while one runs (default
	// DefaultQueue); the next is refused with 503. Negative: none wait.
	Queue int
	// TempDir is where the server makes its temporary directories
	// (default os.TempDir()).
	TempDir string
	// Local configures the device that measures (see local.Config).
	Local local.Config
	// Version is the edgenas version Info reports.
	Version string
	// Log receives a line per measurement (default: discarded).
	Log *slog.Logger
}

// Server serves the agent's HTTP API (see the package documentation).
// Use NewServer.
type Server struct {
	cfg    ServerConfig
	dev    *local.Local
	digest [sha256.Size]byte
	log    *slog.Logger
	sys    fs.FS // root of sysfs and procfs reads (os.DirFS("/"))

	admit chan struct{} // one token per running or waiting measurement
	run   chan struct{} // held by the running measurement

	// compare compares token digests: subtle.ConstantTimeCompare (tests
	// watch it).
	compare func(x, y []byte) int
}

// NewServer returns a Server measuring with a local device configured by
// cfg.Local; it fails without a token or with a bad configuration.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Token == "" {
		return nil, errNoToken
	}
	if cfg.MaxBody < 0 {
		return nil, fmt.Errorf("agent: max body %d bytes, want > 0 (0: %s)", cfg.MaxBody, limitio.Size(DefaultMaxBody))
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	switch {
	case cfg.Queue == 0:
		cfg.Queue = DefaultQueue
	case cfg.Queue < 0:
		cfg.Queue = 0
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if st, err := os.Stat(cfg.TempDir); err != nil {
		return nil, fmt.Errorf("agent: temporary directory: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("agent: temporary directory %s is not a directory", cfg.TempDir)
	}
	dev, err := local.New(cfg.Local)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, dev: dev, digest: tokenDigest(cfg.Token), log: cfg.Log, sys: os.DirFS("/"),
		admit: make(chan struct{}, 1+cfg.Queue), run: make(chan struct{}, 1), compare: subtle.ConstantTimeCompare}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /v1/info", s.auth(http.HandlerFunc(s.info)))
	mux.Handle("POST /v1/measure", s.auth(http.HandlerFunc(s.measure)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "no such endpoint %s %s; want GET /v1/health, GET /v1/info or POST /v1/measure", r.Method, r.URL.Path)
	})
	return mux
}

// Info returns the device's Info as GET /v1/info reports it.
func (s *Server) Info(ctx context.Context) (Info, error) {
	fp, err := s.dev.Fingerprint(ctx)
	if err != nil {
		return Info{}, err
	}
	return readInfo(s.sys, fp, s.cfg.Version), nil
}

// authorized reports whether r carries the token. The comparison is of
// SHA-256 digests, always of the same length, in constant time: how long
// it takes says nothing of how much of a wrong token was right.
func (s *Server) authorized(r *http.Request) bool {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	got := tokenDigest(tok)
	return s.compare(got[:], s.digest[:]) == 1
}

func (s *Server) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edgenas agent"`)
			writeError(w, http.StatusUnauthorized, "", "missing or wrong bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	in, err := s.Info(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

// requestError is a measure request refused with an HTTP status.
type requestError struct {
	status int
	code   string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func reqErr(status int, format string, a ...any) *requestError {
	return &requestError{status: status, msg: fmt.Sprintf(format, a...)}
}

func (s *Server) measure(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > s.cfg.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "", "body of %d bytes is over the agent's limit of %s (edgenas agent --max-body)", r.ContentLength, limitio.Size(s.cfg.MaxBody))
		return
	}
	select {
	case s.admit <- struct{}{}:
		defer func() { <-s.admit }()
	default:
		writeError(w, http.StatusServiceUnavailable, "", "busy: %d measurements are queued (edgenas agent --queue); try again later", s.cfg.Queue)
		return
	}
	select {
	case s.run <- struct{}{}:
		defer func() { <-s.run }()
	case <-r.Context().Done():
		return // the client is gone or the server is shutting down
	}
	m, err := s.handleMeasure(r.Context(), w, r)
	if err != nil {
		var re *requestError
		switch {
		case errors.As(err, &re):
			writeError(w, re.status, re.code, "%s", re.msg)
		case r.Context().Err() != nil:
			writeError(w, http.StatusServiceUnavailable, "", "measurement cancelled: %v", err)
		default:
			writeError(w, http.StatusInternalServerError, "", "%v", err)
		}
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// handleMeasure receives the student into a temporary directory of its
// own, loads and validates it, and measures it; it holds the measurement
// slot, so nothing else of the agent runs while it times the student.
func (s *Server) handleMeasure(ctx context.Context, w http.ResponseWriter, r *http.Request) (devices.Measurement, error) {
	dir, err := os.MkdirTemp(s.cfg.TempDir, "edgenas-agent-")
	if err != nil {
		return devices.Measurement{}, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	m, wl, err := s.decode(w, r, dir)
	if err != nil {
		return devices.Measurement{}, err
	}
	// The upload and the load leave garbage the size of the model; collect
	// it now rather than during the timed runs.
	runtime.GC()
	s.log.Info("measuring", "params", m.NumParams(), "layers", m.Config.NumHiddenLayers, "batch", wl.Batch, "seq_len", wl.SeqLen, "runs", wl.Runs)
	out, err := s.dev.Measure(ctx, m, wl)
	if err != nil {
		return devices.Measurement{}, err
	}
	s.log.Info("measured", "median", out.Median, "mad", out.MAD, "attempts", out.Attempts, "drift_percent", out.DriftPercent)
	return out, nil
}

// decode receives a measure request's student into dir and loads it
// (transformer.Load validates it), and returns it with its workload,
// defaults applied and validated against it.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, dir string) (*transformer.Model, devices.Workload, error) {
	wl, err := s.receive(w, r, dir)
	if err != nil {
		return nil, wl, err
	}
	m, err := transformer.Load(dir)
	if err != nil {
		// The message names the files by their part, not by the agent's
		// temporary paths.
		msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
		return nil, wl, reqErr(http.StatusUnprocessableEntity, "invalid model: %s", msg)
	}
	wl = wl.WithDefaults()
	if err := wl.Validate(&m.Config); err != nil {
		re := reqErr(http.StatusUnprocessableEntity, "%v", err)
		re.code = CodeInvalidWorkload
		return nil, wl, re
	}
	return m, wl, nil
}

// receive reads a measure request's multipart body: the workload, and the
// config and weights written into dir under the names transformer.Load
// reads. Every part must come once; the body is bounded by MaxBody.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, dir string) (devices.Workload, error) {
	var wl devices.Workload
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "multipart/form-data" {
		return wl, reqErr(http.StatusBadRequest, "content type %q, want multipart/form-data with the parts %q, %q and %q", r.Header.Get("Content-Type"), PartWorkload, PartConfig, PartWeights)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return wl, reqErr(http.StatusBadRequest, "malformed multipart body: %v", err)
	}
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return wl, bodyError(err, s.cfg.MaxBody, "")
		}
		name := p.FormName()
		switch {
		case name != PartWorkload && name != PartConfig && name != PartWeights:
			return wl, reqErr(http.StatusBadRequest, "unknown part %q, want %q, %q and %q", name, PartWorkload, PartConfig, PartWeights)
		case seen[name]:
			return wl, reqErr(http.StatusBadRequest, "part %q given twice", name)
		}
		seen[name] = true
		switch name {
		case PartWorkload:
			err = decodeWorkload(p, &wl)
		case PartConfig:
			err = saveFile(p, filepath.Join(dir, transformer.ConfigFile), limitio.ConfigLimit)
		case PartWeights:
			err = saveFile(p, filepath.Join(dir, transformer.WeightsFile), s.cfg.MaxBody)
		}
		if err != nil {
			return wl, bodyError(err, s.cfg.MaxBody, name)
		}
	}
	var missing []string
	for _, n := range []string{PartWorkload, PartConfig, PartWeights} {
		if !seen[n] {
			missing = append(missing, fmt.Sprintf("%q", n))
		}
	}
	if len(missing) > 0 {
		return wl, reqErr(http.StatusBadRequest, "missing part %s: want the parts %q, %q and %q", strings.Join(missing, ", "), PartWorkload, PartConfig, PartWeights)
	}
	return wl, nil
}

// bodyError turns an error reading part (empty: between parts) of the
// body into the answer: 413 over the limit, 400 otherwise; errors that
// are not the client's (a full disk) stay as they are.
func bodyError(err error, limit int64, part string) error {
	var re *requestError
	var mb *http.MaxBytesError
	var pe *fs.PathError
	where := "body"
	if part != "" {
		where = fmt.Sprintf("part %q", part)
	}
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &mb):
		return reqErr(http.StatusRequestEntityTooLarge, "body is over the agent's limit of %s (edgenas agent --max-body)", limitio.Size(limit))
	case errors.As(err, &pe):
		return err
	}
	return reqErr(http.StatusBadRequest, "malformed or truncated %s: %v", where, err)
}

// decodeWorkload decodes one JSON workload object from r (at most
// workloadLimit bytes), refusing unknown fields and trailing data.
func decodeWorkload(r io.Reader, wl *devices.Workload) error {
	data, err := io.ReadAll(io.LimitReader(r, workloadLimit+1))
	if err != nil {
		return err
	}
	if len(data) > workloadLimit {
		return reqErr(http.StatusRequestEntityTooLarge, "part %q is over %s", PartWorkload, limitio.Size(workloadLimit))
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(wl); err != nil {
		return reqErr(http.StatusBadRequest, "part %q: %v; want a JSON object with batch, seq_len, threads, warmup and runs", PartWorkload, err)
	}
	if dec.More() {
		return reqErr(http.StatusBadRequest, "part %q: data after the JSON object", PartWorkload)
	}
	return nil
}

// saveFile copies r to a new file at path, refusing more than limit bytes.
func saveFile(r io.Reader, path string, limit int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n > limit {
		return reqErr(http.StatusRequestEntityTooLarge, "%s is over %s", filepath.Base(path), limitio.Size(limit))
	}
	return nil
}

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, format string, a ...any) {
	writeJSON(w, status, errorBody{Error: fmt.Sprintf(format, a...), Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
