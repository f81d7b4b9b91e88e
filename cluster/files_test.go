package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/train"
)

// fetchWorkerMain is a worker on the fake device that gets the run's
// files from the object store (WorkFetched), with no config of its own,
// in the directory cfgEnv names (where the run's paths do not exist).
func fetchWorkerMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := os.Chdir(os.Getenv(cfgEnv)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err := WorkFetched(ctx, pipeline.ClusterConfig{}, []string{os.Getenv(urlEnv)}, pipeline.Options{Device: &devicetest.Fake{}, Log: log},
		WorkerOptions{Log: log, OnJob: func(ctx context.Context, j Job) { fmt.Printf("job %s-%s %t\n", j.Key, j.Kind, j.Full) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// writeDevFile writes the demo task's dev split of the test configs as a
// JSONL file, so the run's data is a file to distribute.
func writeDevFile(t *testing.T, path string) {
	t.Helper()
	_, dev, err := train.DemoExamples((&train.DemoData{Seed: 2, Train: 64, Dev: 48}).Generator())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.WriteJSONL(f, dev); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWorkerFetchesFromObjectStore runs a search whose data is a file,
// with cluster.distribute: object_store, on an embedded server on
// loopback: the coordinator publishes the run's files, then the teacher
// directory and the data file are moved away, and a worker process with
// no config, started in another directory, downloads them, evaluates every
// job, and the front equals a single-process run's. Then one object's
// content is replaced through the object store API: a worker started
// after that refuses it with an error naming the object.
func TestWorkerFetchesFromObjectStore(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev.jsonl")
	writeDevFile(t, dev)
	refCfg, cfgPath := writeConfigs(t, dir, `{embedded: {listen: "127.0.0.1:0"}, ack_wait: 1s, distribute: object_store}`)
	for _, p := range []string{refCfg, cfgPath} {
		text, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text = []byte(strings.Replace(string(text), "demo: {seed: 2, train: 64, dev: 48}", "dev: "+dev, 1))
		if err := os.WriteFile(p, text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := singleProcessFront(t, refCfg)

	cfg, err := pipeline.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartServer(cfg.Cluster, cfg.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard
	defer cancel()
	run, err := pipeline.Open(ctx, cfg, pipeline.Options{Device: &devicetest.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	nc, err := Connect(cfg.Cluster, []string{srv.ClientURL()}, "test-coordinator")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := PublishFiles(ctx, js, run)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dev == nil || len(m.Teacher) < 3 {
		t.Fatalf("manifest %+v: want the dev file and the teacher's files", m)
	}
	// The worker can see neither the teacher nor the data at their paths.
	for _, p := range []string{run.TeacherDir, dev} {
		if err := os.Rename(p, p+".moved"); err != nil {
			t.Fatal(err)
		}
	}
	lines := make(chan string, 1024)
	startProc(t, 0, "fetch-worker", t.TempDir(), srv.ClientURL(), 0, lines)
	var coord *Coordinator
	got, err := run.Search(ctx, pipeline.SearchOptions{Evaluator: func(e *evaluator.Evaluator) (pipeline.SearchEvaluator, error) {
		var err error
		coord, err = NewCoordinator(ctx, nc, e, run.ID, cfg.Cluster, nil)
		return coord, err
	}})
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	coord.Close()
	sameFront(t, got, want)
	if st := coord.Stats(); st.Stored == 0 || st.Failed != 0 {
		t.Errorf("coordinator %+v: want results stored and no failed reply", st)
	}

	t.Run("tampered object refused", func(t *testing.T) {
		obs, err := js.ObjectStore(ctx, FilesBucket)
		if err != nil {
			t.Fatal(err)
		}
		var vocab FileRef
		for _, r := range m.Teacher {
			if r.Name == "vocab.txt" {
				vocab = r
			}
		}
		data, err := obs.GetBytes(ctx, vocab.Object)
		if err != nil {
			t.Fatalf("vocab.txt (%+v): %v", vocab, err)
		}
		data[0] ^= 1
		if _, err := obs.PutBytes(ctx, vocab.Object, data); err != nil {
			t.Fatal(err)
		}
		p := startProc(t, 1, "fetch-worker", t.TempDir(), srv.ClientURL(), 0, lines)
		err = p.cmd.Wait()
		if err == nil {
			t.Fatal("the worker accepted a tampered object")
		}
		if msg := p.stderr.String(); !strings.Contains(msg, vocab.Object+" (vocab.txt)") || !strings.Contains(msg, "refused") {
			t.Errorf("worker error %q: want it to name object %s and refuse it", msg, vocab.Object)
		}
	})
}

// validManifest is a manifest DecodeManifest accepts.
const validManifest = `{"run_id":"r","config":{"name":"config.yaml","object":"sha256-` + hex64 + `"},
"teacher":[{"name":"vocab.txt","object":"sha256-` + hex64 + `"}],"importance":{"name":"importance.json","object":"sha256-` + hex64 + `"}}`

const hex64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// TestDecodeManifest: a manifest whose file names leave their directory
// or whose objects carry no SHA-256 is refused, naming the problem.
func TestDecodeManifest(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"valid", validManifest, ""},
		{"parent directory", strings.Replace(validManifest, `"vocab.txt"`, `".."`, 1), `file name ".."`},
		{"path", strings.Replace(validManifest, `"vocab.txt"`, `"../../etc/x"`, 1), `file name "../../etc/x"`},
		{"no digest", strings.Replace(validManifest, `"sha256-`+hex64+`"}]`, `"vocab"}]`, 1), `object "vocab", want sha256-`},
		{"short digest", strings.Replace(validManifest, hex64, "0011", 1), `object "sha256-0011"`},
		{"no teacher", strings.Replace(validManifest, `"teacher":[{"name":"vocab.txt","object":"sha256-`+hex64+`"}],`, "", 1), "teacher: no files"},
		{"not JSON", "{", "unexpected end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeManifest([]byte(tc.data))
			if tc.want == "" {
				if err != nil || len(m.Teacher) != 1 {
					t.Fatalf("DecodeManifest: %+v, %v", m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeManifest: no input panics, and an accepted manifest names
// only plain files and SHA-256 objects.
func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(validManifest))
	f.Add([]byte(`{"teacher":[{"name":"/","object":"sha256-"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeManifest(data)
		if err != nil {
			return
		}
		for _, r := range m.refs() {
			if filepath.Base(r.ref.Name) != r.ref.Name || r.ref.Name == ".." {
				t.Fatalf("accepted file name %q", r.ref.Name)
			}
			if _, err := objectDigest(r.ref.Object); err != nil {
				t.Fatalf("accepted object: %v", err)
			}
		}
	})
}
