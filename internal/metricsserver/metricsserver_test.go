package metricsserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// testMetric is the metric every test registry holds.
const testMetric = "edgenas_test_metric_total"

func testRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: testMetric, Help: "A test counter."})
	c.Add(3)
	reg.MustRegister(c)
	return reg
}

// start starts a server on a free loopback port and stops it at the end
// of the test.
func start(t *testing.T, cfg Config) string {
	t.Helper()
	addr, stop, err := Start(t.Context(), cfg, testRegistry(t), nil)
	if err != nil {
		t.Fatalf("Start(%+v): %v", cfg, err)
	}
	t.Cleanup(stop)
	return addr
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// get fetches url and returns the status and the body.
func get(t *testing.T, c *http.Client, url, user, pass string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestConfigAddress(t *testing.T) {
	for _, tc := range []struct {
		name, listen, want, wantErr string
	}{
		{name: "empty", listen: "", want: ""},
		{name: "bare port", listen: "9090", want: "127.0.0.1:9090"},
		{name: "colon port", listen: ":9090", want: "127.0.0.1:9090"},
		{name: "all interfaces", listen: "0.0.0.0:9090", want: "0.0.0.0:9090"},
		{name: "ipv6", listen: "[::1]:9090", want: "[::1]:9090"},
		{name: "host name", listen: "localhost:9090", want: "localhost:9090"},
		{name: "host without port", listen: "localhost", wantErr: "want host:port"},
		{name: "port not a number", listen: ":http", wantErr: `port "http"`},
		{name: "port too large", listen: ":70000", wantErr: `port "70000"`},
		{name: "negative port", listen: "-1", wantErr: "want host:port"},
		{name: "path as host", listen: "a/b:9090", wantErr: `host "a/b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Config{Listen: tc.listen}.Address()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Address(%q) = %q, %v; want error containing %q", tc.listen, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Address(%q) = %q, %v; want %q", tc.listen, got, err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	good := writeFile(t, dir, "good.yml", "basic_auth_users:\n  alice: "+string(hash)+"\n")
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none: valid
	}{
		{name: "zero", cfg: Config{}},
		{name: "good web config", cfg: Config{Listen: ":0", WebConfig: good}},
		{name: "bad listen", cfg: Config{Listen: "nonsense"}, want: []string{"listen:", "nonsense"}},
		{name: "missing file", cfg: Config{Listen: ":0", WebConfig: filepath.Join(dir, "absent.yml")},
			want: []string{"web_config:", "absent.yml"}},
		{name: "bad yaml", cfg: Config{Listen: ":0", WebConfig: writeFile(t, dir, "syntax.yml", "basic_auth_users: [\n")},
			want: []string{"web_config:", "syntax.yml"}},
		{name: "unknown key", cfg: Config{Listen: ":0", WebConfig: writeFile(t, dir, "unknown.yml", "no_such_key: 1\n")},
			want: []string{"web_config:", "unknown.yml", "no_such_key"}},
		{name: "password not bcrypt", cfg: Config{Listen: ":0", WebConfig: writeFile(t, dir, "plain.yml", "basic_auth_users:\n  alice: secret\n")},
			want: []string{"web_config:", "plain.yml"}},
		{name: "missing certificate", cfg: Config{Listen: ":0", WebConfig: writeFile(t, dir, "tls.yml", "tls_server_config:\n  cert_file: nocert.pem\n  key_file: nokey.pem\n")},
			want: []string{"web_config:", "tls.yml", "nocert.pem"}},
		{name: "web config without listen", cfg: Config{WebConfig: good}, want: []string{"web_config:", "without listen"}},
		{name: "every problem at once", cfg: Config{Listen: "x", WebConfig: filepath.Join(dir, "absent.yml")},
			want: []string{"listen:", "absent.yml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to contain %q", err, w)
				}
			}
			// Start refuses what Validate refuses, before binding.
			if _, _, err := Start(t.Context(), tc.cfg, testRegistry(t), nil); err == nil {
				t.Errorf("Start accepted a config Validate refuses")
			}
		})
	}
}

func TestStartEmptyListenServesNothing(t *testing.T) {
	addr, stop, err := Start(t.Context(), Config{}, testRegistry(t), nil)
	if err != nil || addr != "" || stop == nil {
		t.Fatalf("Start(zero Config) = %q, %v, %v; want \"\", a stop func, nil", addr, stop != nil, err)
	}
	stop()
}

func TestStartBindsLoopbackByDefault(t *testing.T) {
	for _, listen := range []string{":0", "0"} {
		t.Run(listen, func(t *testing.T) {
			addr := start(t, Config{Listen: listen})
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatal(err)
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Fatalf("bound %s, want a loopback address", addr)
			}
		})
	}
}

func TestStartServesOnlyMetrics(t *testing.T) {
	addr := start(t, Config{Listen: "127.0.0.1:0"})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/metrics", http.StatusOK},
		{"/other", http.StatusNotFound},
		{"/", http.StatusNotFound},
		{"/metrics/extra", http.StatusNotFound},
		{"/debug/pprof/", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			status, body := get(t, http.DefaultClient, "http://"+addr+tc.path, "", "")
			if status != tc.status {
				t.Fatalf("GET %s: status %d, want %d", tc.path, status, tc.status)
			}
			if has := strings.Contains(body, testMetric+" 3"); has != (tc.status == http.StatusOK) {
				t.Fatalf("GET %s: body has the metric: %v, want %v; body:\n%s", tc.path, has, tc.status == http.StatusOK, body)
			}
		})
	}
}

func TestStartBasicAuth(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	wc := writeFile(t, dir, "web.yml", "basic_auth_users:\n  alice: "+string(hash)+"\n")
	addr := start(t, Config{Listen: ":0", WebConfig: wc})
	for _, tc := range []struct {
		name, user, pass string
		status           int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong password", "alice", "guess", http.StatusUnauthorized},
		{"unknown user", "bob", "secret", http.StatusUnauthorized},
		{"right credentials", "alice", "secret", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, http.DefaultClient, "http://"+addr+Path, tc.user, tc.pass)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if has := strings.Contains(body, testMetric); has != (tc.status == http.StatusOK) {
				t.Fatalf("body has the metric: %v, want %v", has, tc.status == http.StatusOK)
			}
		})
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir and returns the certificate's pool.
func selfSigned(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "edgenas test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, dir, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func TestStartTLS(t *testing.T) {
	dir := t.TempDir()
	pool := selfSigned(t, dir)
	// Relative paths: the toolkit resolves them against the file's directory.
	wc := writeFile(t, dir, "web.yml", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
	addr := start(t, Config{Listen: ":0", WebConfig: wc})
	t.Run("https", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		status, body := get(t, c, "https://"+addr+Path, "", "")
		if status != http.StatusOK || !strings.Contains(body, testMetric+" 3") {
			t.Fatalf("status %d, want 200 with %s; body:\n%s", status, testMetric, body)
		}
	})
	t.Run("plain http", func(t *testing.T) {
		status, body := get(t, http.DefaultClient, "http://"+addr+Path, "", "")
		if status == http.StatusOK || strings.Contains(body, testMetric) {
			t.Fatalf("plain HTTP to the TLS endpoint: status %d, body %q; want a refusal", status, body)
		}
	})
}

func TestStopAndCancelCloseTheEndpoint(t *testing.T) {
	for _, how := range []string{"stop", "cancel"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			addr, stop, err := Start(ctx, Config{Listen: ":0"}, testRegistry(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			if status, _ := get(t, http.DefaultClient, "http://"+addr+Path, "", ""); status != http.StatusOK {
				t.Fatalf("status %d before stopping, want 200", status)
			}
			if how == "stop" {
				stop()
				stop() // idempotent
			} else {
				cancel()
			}
			// After cancel the shutdown runs on its own goroutine: wait
			// for the port to close (liveness bound, not a speed check).
			deadline := time.Now().Add(30 * time.Second)
			for {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					// Refused, or reset when the dial raced the close.
					if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) {
						t.Fatalf("dial after %s: %v, want connection refused", how, err)
					}
					break
				}
				conn.Close()
				if how == "stop" || time.Now().After(deadline) {
					t.Fatalf("%s: endpoint %s still accepts connections", how, addr)
				}
				time.Sleep(10 * time.Millisecond)
			}
			stop()
		})
	}
}

func FuzzAddress(f *testing.F) {
	for _, s := range []string{"", "9090", ":9090", "0.0.0.0:1", "[::1]:2", "localhost", "a/b:1", ":65536"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, listen string) {
		addr, err := Config{Listen: listen}.Address()
		if err != nil || listen == "" {
			return
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("Address(%q) = %q, which does not split: %v", listen, addr, err)
		}
		if host == "" {
			t.Fatalf("Address(%q) = %q: empty host", listen, addr)
		}
		if !strings.Contains(listen, host) && host != DefaultHost {
			t.Fatalf("Address(%q) = %q: host from nowhere", listen, addr)
		}
	})
}
