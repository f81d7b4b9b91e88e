package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/search"
	"github.com/edgenas/edgenas/transformer"
)

const testToken = "s3cret-token-0123456789"

// fastLocal is a local device configuration that keeps tests quick: one
// attempt, no drift reference.
var fastLocal = local.Config{MaxAttempts: 1, NoReference: true}

// writeToken writes tok to a file in t's temporary directory.
func writeToken(t testing.TB, tok string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startServer starts an agent on loopback; cfg's Token defaults to
// testToken and its TempDir to a fresh directory.
func startServer(t testing.TB, cfg ServerConfig) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

// newClient returns a Client of the agent at url with quick retries.
func newClient(t testing.TB, url string, cfg Config) *Client {
	t.Helper()
	cfg.URL = url
	if cfg.TokenFile == "" {
		cfg.TokenFile = writeToken(t, testToken)
	}
	if cfg.Retry == (search.Retry{}) {
		cfg.Retry = search.Retry{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConformance runs the devices conformance suite on a client of an
// in-process agent: the remote device keeps the Device contract.
func TestConformance(t *testing.T) {
	_, hs := startServer(t, ServerConfig{Local: local.Config{MaxAttempts: 1}})
	devicetest.Conformance(t, newClient(t, hs.URL, Config{}))
}

// TestRemoteMatchesProtocol checks that a remote measurement is the local
// device's: the asked runs, a drift reference, the measured peak memory,
// and the fingerprint naming the agent's machine and engine.
func TestRemoteMatchesProtocol(t *testing.T) {
	_, hs := startServer(t, ServerConfig{Version: "9.9.9"})
	c := newClient(t, hs.URL, Config{})
	small, _ := devicetest.Models(t)
	m, err := c.Measure(context.Background(), small, devices.Workload{SeqLen: 16, Runs: 11})
	if err != nil {
		t.Fatal(err)
	}
	l, err := local.New(local.Config{})
	if err != nil {
		t.Fatal(err)
	}
	lm, err := l.Measure(context.Background(), small, devices.Workload{SeqLen: 16, Runs: 11})
	if err != nil {
		t.Fatal(err)
	}
	if m.Runs != 11 || m.Median <= 0 || m.PeakBytes != lm.PeakBytes {
		t.Errorf("remote %+v, want 11 runs and the local device's peak memory %d", m, lm.PeakBytes)
	}
	if devices.MeasuresAlone(c) {
		t.Error("a remote device declares that it measures alone")
	}
	lfp, _ := l.Fingerprint(context.Background())
	fp, err := c.Fingerprint(context.Background())
	if err != nil || !strings.Contains(fp, lfp) || !strings.Contains(fp, "edgenas 9.9.9") {
		t.Errorf("fingerprint %q (%v), want it to hold the local fingerprint %q and the version", fp, err, lfp)
	}
}

// TestTokenComparisonIsUniform proves structurally that refusing a token
// takes no time that depends on it: whatever is presented (nothing, a
// prefix of the token, a longer string, the token itself), the server
// makes exactly one comparison, of two SHA-256 digests of equal length,
// with the constant-time function.
func TestTokenComparisonIsUniform(t *testing.T) {
	s, hs := startServer(t, ServerConfig{Local: fastLocal})
	want := tokenDigest(testToken)
	var (
		mu    sync.Mutex
		calls [][2][]byte
	)
	s.compare = func(x, y []byte) int {
		mu.Lock()
		calls = append(calls, [2][]byte{bytes.Clone(x), bytes.Clone(y)})
		mu.Unlock()
		return subtleCompare(x, y)
	}
	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"not bearer", "Basic " + testToken, http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"first byte", "Bearer " + testToken[:1], http.StatusUnauthorized},
		{"all but the last byte", "Bearer " + testToken[:len(testToken)-1], http.StatusUnauthorized},
		{"last byte wrong", "Bearer " + testToken[:len(testToken)-1] + "X", http.StatusUnauthorized},
		{"longer", "Bearer " + testToken + "X", http.StatusUnauthorized},
		{"much longer", "Bearer " + strings.Repeat(testToken, 100), http.StatusUnauthorized},
		{"right", "Bearer " + testToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			calls = nil
			mu.Unlock()
			req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/info", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(calls) != 1 {
				t.Fatalf("%d comparisons, want exactly 1", len(calls))
			}
			x, y := calls[0][0], calls[0][1]
			if len(x) != len(want) || len(y) != len(want) || !bytes.Equal(y, want[:]) {
				t.Errorf("compared %d bytes with %d bytes, want two SHA-256 digests (%d bytes), the second the token's", len(x), len(y), len(want))
			}
		})
	}
}

// subtleCompare is the production comparison, for the test's recorder to
// delegate to.
var subtleCompare = func() func(x, y []byte) int {
	s, err := NewServer(ServerConfig{Token: "x", Local: fastLocal})
	if err != nil {
		panic(err)
	}
	return s.compare
}()

// part is one part of a hand-made measure request.
type part struct{ name, body string }

// testBoundary is the multipart boundary of hand-made requests.
const testBoundary = "edgenas-test-boundary"

// multipartBody encodes parts as the client does.
func multipartBody(t testing.TB, parts []part) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary(testBoundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		w, err := mw.CreateFormFile(p.name, p.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p.body)
	}
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// modelParts returns the parts of a valid request for m on w.
func modelParts(t testing.TB, m *transformer.Model, w devices.Workload) (workload, config, weights part) {
	t.Helper()
	cfg, err := m.ConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	var wb bytes.Buffer
	if err := m.WriteWeights(&wb); err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(w)
	return part{PartWorkload, string(wj)}, part{PartConfig, string(cfg)}, part{PartWeights, wb.String()}
}

// TestBadRequests checks that every bad request is refused with its 4xx
// status and a JSON message saying what is wrong, and that the server's
// temporary directory is left empty.
func TestBadRequests(t *testing.T) {
	tmp := t.TempDir()
	_, hs := startServer(t, ServerConfig{Local: fastLocal, TempDir: tmp, MaxBody: 4 << 20})
	small, large := devicetest.Models(t)
	wl, cfg, weights := modelParts(t, small, devices.Workload{SeqLen: 16})
	_, _, largeWeights := modelParts(t, large, devices.Workload{SeqLen: 16})
	good, goodType := multipartBody(t, []part{wl, cfg, weights})
	if len(good) > 4<<20 || len(largeWeights.body) < 4<<20 {
		t.Fatalf("test models: small body %d bytes, large weights %d bytes; want them either side of the 4 MiB limit", len(good), len(largeWeights.body))
	}
	body := func(parts ...part) ([]byte, string) { return multipartBody(t, parts) }
	for _, tc := range []struct {
		name        string
		token       string
		build       func() ([]byte, string)
		chunked     bool
		status      int
		wantMessage string
	}{
		{"wrong token", "wrong", func() ([]byte, string) { return good, goodType }, false, 401, "token"},
		{"missing token", "", func() ([]byte, string) { return good, goodType }, false, 401, "token"},
		{"not multipart", testToken, func() ([]byte, string) { return []byte(`{"batch": 1}`), "application/json" }, false, 400, "multipart/form-data"},
		{"bad JSON workload", testToken, func() ([]byte, string) { return body(part{PartWorkload, "{batch: 1"}, cfg, weights) }, false, 400, `part "workload"`},
		{"unknown workload field", testToken, func() ([]byte, string) { return body(part{PartWorkload, `{"batches": 2}`}, cfg, weights) }, false, 400, "batches"},
		{"trailing workload data", testToken, func() ([]byte, string) { return body(part{PartWorkload, `{} {}`}, cfg, weights) }, false, 400, "after the JSON"},
		{"weights not a model", testToken, func() ([]byte, string) { return body(wl, cfg, part{PartWeights, "not a safetensors file"}) }, false, 422, "invalid model: model.safetensors"},
		{"config not JSON", testToken, func() ([]byte, string) { return body(wl, part{PartConfig, "<html>"}, weights) }, false, 422, "invalid model: config.json"},
		{"missing part", testToken, func() ([]byte, string) { return body(wl, cfg) }, false, 400, `missing part "weights"`},
		{"part twice", testToken, func() ([]byte, string) { return body(wl, wl, cfg, weights) }, false, 400, "twice"},
		{"unknown part", testToken, func() ([]byte, string) { return body(wl, part{"../../etc/passwd", "x"}, cfg, weights) }, false, 400, "unknown part"},
		{"truncated upload", testToken, func() ([]byte, string) { return good[:len(good)/2], goodType }, false, 400, "truncated"},
		{"invalid workload", testToken, func() ([]byte, string) { return body(part{PartWorkload, `{"runs": 3}`}, cfg, weights) }, false, 422, "runs:"},
		{"oversized with length", testToken, func() ([]byte, string) { return body(wl, cfg, largeWeights) }, false, 413, "limit of 4 MiB"},
		{"oversized streamed", testToken, func() ([]byte, string) { return body(wl, cfg, largeWeights) }, true, 413, "limit of 4 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ct := tc.build()
			var r io.Reader = bytes.NewReader(b)
			if tc.chunked {
				r = io.MultiReader(r) // no length: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, hs.URL+"/v1/measure", r)
			req.Header.Set("Content-Type", ct)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var eb errorBody
			if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(eb.Error, tc.wantMessage) {
				t.Errorf("%d %q, want %d with a message holding %q", resp.StatusCode, eb.Error, tc.status, tc.wantMessage)
			}
			if strings.Contains(eb.Error, tmp) {
				t.Errorf("message %q shows the agent's temporary path", eb.Error)
			}
		})
	}
	t.Run("good request", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/v1/measure", bytes.NewReader(good))
		req.Header.Set("Content-Type", goodType)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m devices.Measurement
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 || m.Median <= 0 {
			t.Fatalf("%d %+v %v, want a measurement", resp.StatusCode, m, err)
		}
	})
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary directory holds %d entries after the requests, want none", len(left))
	}
}

// TestClientErrors checks how the client reports an agent's answers: an
// invalid workload as devices.ErrWorkload naming the field, a wrong token
// as a plain error, and an agent that is gone as devices.ErrUnavailable
// after its retries.
func TestClientErrors(t *testing.T) {
	_, hs := startServer(t, ServerConfig{Local: fastLocal})
	small, _ := devicetest.Models(t)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server sees the client leave
		<-r.Context().Done()
	}))
	defer hung.Close()
	for _, tc := range []struct {
		name        string
		c           *Client
		unavailable bool
		want        string
	}{
		{"wrong token", newClient(t, hs.URL, Config{TokenFile: writeToken(t, "other")}), false, "401"},
		{"agent gone", newClient(t, gone.URL, Config{}), true, "gave up after 2 attempts"},
		{"agent hangs", newClient(t, hung.URL, Config{Timeout: 50 * time.Millisecond}), true, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Measure(context.Background(), small, devices.Workload{SeqLen: 16})
			if err == nil || errors.Is(err, devices.ErrUnavailable) != tc.unavailable || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one holding %q (unavailable: %v)", err, tc.want, tc.unavailable)
			}
			if _, err := tc.c.Fingerprint(context.Background()); err == nil {
				t.Error("Fingerprint succeeded")
			}
		})
	}
}

// TestClientRetriesUnavailable checks that 503s are retried with backoff
// and that the measurement comes back once the agent answers.
func TestClientRetriesUnavailable(t *testing.T) {
	s, err := NewServer(ServerConfig{Token: testToken, Local: fastLocal, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	h := s.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/measure" && calls.Add(1) <= 2 {
			io.Copy(io.Discard, r.Body)
			writeError(w, http.StatusServiceUnavailable, "", "busy")
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer hs.Close()
	small, _ := devicetest.Models(t)
	for _, tc := range []struct {
		name     string
		attempts int
		ok       bool
	}{
		{"too few attempts", 2, false},
		{"enough attempts", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			c := newClient(t, hs.URL, Config{Retry: search.Retry{MaxAttempts: tc.attempts, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}})
			m, err := c.Measure(context.Background(), small, devices.Workload{SeqLen: 16})
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, devices.ErrUnavailable) {
				t.Fatalf("after %d calls: %+v, %v", calls.Load(), m, err)
			}
			if tc.ok && m.Median <= 0 {
				t.Fatalf("measurement %+v", m)
			}
		})
	}
}

// TestQueueBound checks that one measurement runs at a time, that up to
// the queue bound wait, and that the next is refused with 503 at once
// (the client: devices.ErrUnavailable).
func TestQueueBound(t *testing.T) {
	_, hs := startServer(t, ServerConfig{Local: fastLocal, Queue: 1})
	small, _ := devicetest.Models(t)
	wl, cfg, weights := modelParts(t, small, devices.Workload{SeqLen: 16})
	good, ct := multipartBody(t, []part{wl, cfg, weights})
	// Two requests whose bodies stall after their first bytes: one holds
	// the measurement, one waits in the queue.
	var stalls []*io.PipeWriter
	done := make(chan int, 2)
	for range 2 {
		pr, pw := io.Pipe()
		stalls = append(stalls, pw)
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/v1/measure", pr)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+testToken)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		if _, err := pw.Write(good[:10]); err != nil {
			t.Fatal(err)
		}
	}
	// The third is refused once both are admitted; until then it may be
	// admitted itself, so ask until refused (bounded by the test timeout,
	// never timed).
	c := newClient(t, hs.URL, Config{Retry: search.Retry{MaxAttempts: 1}})
	for {
		_, err := c.Measure(context.Background(), small, devices.Workload{SeqLen: 16})
		if errors.Is(err, devices.ErrUnavailable) {
			if !strings.Contains(err.Error(), "503") {
				t.Fatalf("error %v, want a 503", err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, pw := range stalls {
		go func() { pw.Write(good[10:]); pw.Close() }()
	}
	for range 2 {
		if st := <-done; st != http.StatusOK {
			t.Errorf("a queued measurement ended with %d, want 200", st)
		}
	}
}

// TestTLS checks an https agent with a self-signed certificate: the
// client trusts it through ca_file, and refuses it without.
func TestTLS(t *testing.T) {
	certPEM, keyPEM := selfSigned(t)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(ServerConfig{Token: testToken, Local: fastLocal, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	hs.StartTLS()
	defer hs.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	small, _ := devicetest.Models(t)
	for _, tc := range []struct {
		name, ca string
		ok       bool
	}{
		{"trusted through ca_file", ca, true},
		{"system roots", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, hs.URL, Config{CAFile: tc.ca})
			m, err := c.Measure(context.Background(), small, devices.Workload{SeqLen: 16})
			if tc.ok != (err == nil) {
				t.Fatalf("%+v, %v", m, err)
			}
			if !tc.ok && !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("error %v, want a certificate error", err)
			}
		})
	}
}

// selfSigned returns a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t testing.TB) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edgenas agent test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// TestConfigValidate checks that every bad client setting is named.
func TestConfigValidate(t *testing.T) {
	tok := writeToken(t, testToken)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"good", Config{URL: "http://10.0.0.2:7070", TokenFile: tok}, ""},
		{"missing url", Config{TokenFile: tok}, "url"},
		{"bad scheme", Config{URL: "ftp://board:7070", TokenFile: tok}, "url"},
		{"no host", Config{URL: "http://", TokenFile: tok}, "url"},
		{"unparsable url", Config{URL: "http://[::1", TokenFile: tok}, "url"},
		{"missing token file", Config{URL: "http://board:7070"}, "token_file"},
		{"absent token file", Config{URL: "http://board:7070", TokenFile: filepath.Join(dir, "nope")}, "token_file"},
		{"empty token", Config{URL: "http://board:7070", TokenFile: empty}, "token_file"},
		{"ca not PEM", Config{URL: "https://board:7070", TokenFile: tok, CAFile: notPEM}, "ca_file"},
		{"negative timeout", Config{URL: "http://board:7070", TokenFile: tok, Timeout: -time.Second}, "timeout"},
		{"backoffs inverted", Config{URL: "http://board:7070", TokenFile: tok, Retry: search.Retry{InitialBackoff: time.Minute, MaxBackoff: time.Second}}, "retry.max_backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}

// TestReadToken checks the token file rules.
func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
		ok                  bool
	}{
		{"trimmed", "  abc123\n", "abc123", true},
		{"empty", "\n\t ", "", false},
		{"two words", "abc def", "", false},
		{"control character", "abc\x00def", "", false},
		{"too large", strings.Repeat("a", tokenLimit+1), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			os.WriteFile(p, []byte(tc.content), 0o600)
			got, err := ReadToken(p)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("ReadToken = %q, %v; want %q (ok %v)", got, err, tc.want, tc.ok)
			}
		})
	}
	if _, err := NewServer(ServerConfig{}); !errors.Is(err, errNoToken) {
		t.Errorf("NewServer without a token: %v, want errNoToken", err)
	}
}

// TestInfoFromSysfs checks what Info reads from sysfs, and that the
// fingerprint keeps governors and maximum frequencies but not current
// frequencies or temperatures.
func TestInfoFromSysfs(t *testing.T) {
	sys := func(cur, temp string) fstest.MapFS {
		return fstest.MapFS{
			"sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq": {Data: []byte(cur + "\n")},
			"sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": {Data: []byte("1800000\n")},
			"sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": {Data: []byte("ondemand\n")},
			"sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": {Data: []byte("ondemand\n")},
			"sys/devices/system/cpu/cpufreq/policy0/x":             {Data: []byte("ignored")},
			"sys/class/thermal/thermal_zone0/temp":                 {Data: []byte(temp + "\n")},
			"sys/class/thermal/thermal_zone0/type":                 {Data: []byte("cpu-thermal\n")},
			"sys/class/thermal/thermal_zone1/temp":                 {Data: []byte("unreadable\n")},
		}
	}
	a := readInfo(sys("600000", "51234"), "LOCAL", "1.0")
	b := readInfo(sys("1800000", "78000"), "LOCAL", "1.0")
	want := []CPUFreq{{CPU: 0, CurKHz: 600000, MaxKHz: 1800000, Governor: "ondemand"}, {CPU: 1, Governor: "ondemand"}}
	if len(a.CPUs) != 2 || a.CPUs[0] != want[0] || a.CPUs[1] != want[1] {
		t.Errorf("CPUs %+v, want %+v", a.CPUs, want)
	}
	if len(a.Thermal) != 1 || a.Thermal[0].Celsius != 51.234 || a.Thermal[0].Type != "cpu-thermal" {
		t.Errorf("thermal %+v, want zone0 at 51.234°C", a.Thermal)
	}
	if a.Fingerprint != b.Fingerprint || a.Fingerprint != "agent LOCAL, governor ondemand, max 1800 MHz, edgenas 1.0" {
		t.Errorf("fingerprints %q and %q, want both the stable one", a.Fingerprint, b.Fingerprint)
	}
	if none := readInfo(fstest.MapFS{}, "LOCAL", "1.0"); none.Fingerprint != "agent LOCAL, edgenas 1.0" || none.CPUs != nil || none.Thermal != nil {
		t.Errorf("without sysfs: %+v", none)
	}
}

// FuzzMeasureRequest feeds the agent's request decoding arbitrary
// bodies: it must return a valid model and workload, or an error that is
// a 400, 413 or 422 with a message, never panic, and leave its directory
// holding only the two files it may write.
func FuzzMeasureRequest(f *testing.F) {
	c := transformer.DefaultConfig()
	c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.MaxPositionEmbeddings, c.NumLabels = 20, 8, 1, 2, 8, 8, 2
	small, err := transformer.NewRandom(c, mrand.New(mrand.NewPCG(1, 1)), 0.1)
	if err != nil {
		f.Fatal(err)
	}
	wl, cfg, weights := modelParts(f, small, devices.Workload{SeqLen: 8})
	good, ct := multipartBody(f, []part{wl, cfg, weights})
	f.Add(good)
	bad, _ := multipartBody(f, []part{{PartWorkload, `{"runs": 3}`}, cfg, {PartWeights, "xx"}})
	f.Add(bad)
	f.Add([]byte("--" + testBoundary + "--\r\n"))
	s, err := NewServer(ServerConfig{Token: testToken, Local: fastLocal, MaxBody: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/measure", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		dir := t.TempDir()
		m, w, err := s.decode(httptest.NewRecorder(), req, dir)
		var re *requestError
		switch {
		case err == nil:
			if m == nil || w.Validate(&m.Config) != nil {
				t.Fatalf("decoded %v with workload %+v", m, w)
			}
		case !errors.As(err, &re) || re.msg == "":
			t.Fatalf("error %v is not a request error with a message", err)
		case re.status != http.StatusBadRequest && re.status != http.StatusRequestEntityTooLarge && re.status != http.StatusUnprocessableEntity:
			t.Fatalf("status %d for %v", re.status, err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != transformer.ConfigFile && e.Name() != transformer.WeightsFile {
				t.Fatalf("decoding wrote %s", e.Name())
			}
		}
	})
}
