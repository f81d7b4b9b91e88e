package cluster

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/edgenas/edgenas/pipeline"
)

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// userSeed returns a fresh user NKey seed.
func userSeed(t *testing.T) []byte {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// selfSignedCert writes a self-signed ECDSA certificate for 127.0.0.1
// and its key into dir and returns their paths.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "edgenas test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, dir, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyFile = writeFile(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	return certFile, keyFile
}

// pubSub checks that nc can publish a message and receive it on its own
// subscription.
func pubSub(t *testing.T, nc *nats.Conn) {
	t.Helper()
	sub, err := nc.SubscribeSync("security.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("security.test", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if string(m.Data) != "hello" {
		t.Fatalf("received %q, want %q", m.Data, "hello")
	}
}

// isAuthErr reports whether err is the server refusing a client's
// credentials.
func isAuthErr(err error) bool { return errors.Is(err, nats.ErrAuthorization) }

// isUnknownCA reports whether err is a TLS handshake failing on a server
// certificate signed by an authority the client does not trust.
func isUnknownCA(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua)
}

// plainClientRefused dials addr over plain TCP, reads the server's INFO
// and sends CONNECT and PING without TLS: the server must not answer
// PONG.
func plainClientRefused(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	info, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read INFO: %v", err)
	}
	if !strings.HasPrefix(info, "INFO ") || !strings.Contains(info, `"tls_required":true`) {
		t.Fatalf("server INFO %q does not require TLS", info)
	}
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		return // the server closed the connection already
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("server neither answered nor closed a plain connection within 10s")
			}
			return // closed: refused
		}
		if strings.HasPrefix(line, "PONG") {
			t.Fatal("server answered PONG to a client without TLS")
		}
	}
}

// TestServerSecurity starts the embedded server with each kind of
// protection and checks that a client configured the same way connects
// and exchanges messages while clients lacking the credential or the CA
// are refused; and that a listen address without a host binds loopback.
func TestServerSecurity(t *testing.T) {
	type client struct {
		name string
		cfg  func(server pipeline.ClusterConfig, dir string) pipeline.ClusterConfig
		// refused, when set, says the connection must fail with an
		// error it accepts; nil means it must succeed.
		refused func(error) bool
	}
	same := func(s pipeline.ClusterConfig, _ string) pipeline.ClusterConfig {
		return pipeline.ClusterConfig{TokenFile: s.TokenFile, NKeyFile: s.NKeyFile, TLS: pipeline.ClusterTLSConfig{CAFile: s.TLS.CAFile}}
	}
	none := func(pipeline.ClusterConfig, string) pipeline.ClusterConfig { return pipeline.ClusterConfig{} }
	cases := []struct {
		name   string
		listen string
		server func(t *testing.T, dir string) pipeline.ClusterConfig
		// wantHost is the IP the server must listen on.
		wantHost string
		clients  []client
		// plainRefused checks a client that speaks NATS without TLS.
		plainRefused bool
	}{{
		name: "token", listen: "127.0.0.1:0", wantHost: "127.0.0.1",
		server: func(t *testing.T, dir string) pipeline.ClusterConfig {
			return pipeline.ClusterConfig{TokenFile: writeFile(t, dir, "token", []byte("s3cret-token\n"))}
		},
		clients: []client{
			{name: "right token", cfg: same},
			{name: "no token", cfg: none, refused: isAuthErr},
			{name: "wrong token", refused: isAuthErr, cfg: func(_ pipeline.ClusterConfig, dir string) pipeline.ClusterConfig {
				return pipeline.ClusterConfig{TokenFile: writeFile(t, dir, "wrong-token", []byte("not-the-token"))}
			}},
		},
	}, {
		name: "nkey", listen: "127.0.0.1:0", wantHost: "127.0.0.1",
		server: func(t *testing.T, dir string) pipeline.ClusterConfig {
			return pipeline.ClusterConfig{NKeyFile: writeFile(t, dir, "user.nk", userSeed(t))}
		},
		clients: []client{
			{name: "right seed", cfg: same},
			{name: "no key", cfg: none, refused: isAuthErr},
			{name: "other seed", refused: isAuthErr, cfg: func(_ pipeline.ClusterConfig, dir string) pipeline.ClusterConfig {
				return pipeline.ClusterConfig{NKeyFile: writeFile(t, dir, "other.nk", userSeed(t))}
			}},
		},
	}, {
		name: "tls", listen: "127.0.0.1:0", wantHost: "127.0.0.1", plainRefused: true,
		server: func(t *testing.T, dir string) pipeline.ClusterConfig {
			cert, key := selfSignedCert(t, dir)
			return pipeline.ClusterConfig{TLS: pipeline.ClusterTLSConfig{CAFile: cert, CertFile: cert, KeyFile: key}}
		},
		clients: []client{
			{name: "with CA", cfg: same},
			{name: "system roots", cfg: none, refused: isUnknownCA},
		},
	}, {
		name: "loopback default", listen: ":0", wantHost: "127.0.0.1",
		server: func(*testing.T, string) pipeline.ClusterConfig { return pipeline.ClusterConfig{} },
		clients: []client{
			{name: "open", cfg: none},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := c.server(t, dir)
			cfg.Embedded = &pipeline.EmbeddedNATSConfig{Listen: c.listen, StoreDir: filepath.Join(dir, "js")}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("server config: %v", err)
			}
			srv, err := StartServer(cfg, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Shutdown)
			addr, ok := srv.s.Addr().(*net.TCPAddr)
			if !ok {
				t.Fatalf("server listens on %v (%T), want a TCP address", srv.s.Addr(), srv.s.Addr())
			}
			if got := addr.IP.String(); got != c.wantHost || !addr.IP.IsLoopback() {
				t.Fatalf("server listens on %v, want host %s", addr, c.wantHost)
			}
			url := srv.ClientURL()
			for _, cl := range c.clients {
				t.Run(cl.name, func(t *testing.T) {
					nc, err := Connect(cl.cfg(cfg, t.TempDir()), []string{url}, "security-test")
					if cl.refused == nil {
						if err != nil {
							t.Fatalf("connect: %v", err)
						}
						defer nc.Close()
						pubSub(t, nc)
						return
					}
					if err == nil {
						nc.Close()
						t.Fatal("connected, want refused")
					}
					if !cl.refused(err) {
						t.Fatalf("connect failed with %v (%T), not the expected refusal", err, errors.Unwrap(err))
					}
				})
			}
			if c.plainRefused {
				t.Run("plain", func(t *testing.T) { plainClientRefused(t, addr.String()) })
			}
		})
	}
}
