package cluster

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/search"
)

// The test binary acts as a worker or a coordinator process when roleEnv
// says so (TestMain), so tests can kill real processes.
const (
	roleEnv  = "EDGENAS_TEST_CLUSTER_ROLE"
	cfgEnv   = "EDGENAS_TEST_CLUSTER_CONFIG"
	urlEnv   = "EDGENAS_TEST_CLUSTER_URL"
	delayEnv = "EDGENAS_TEST_CLUSTER_DELAY"
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "worker":
		os.Exit(workerMain())
	case "coordinator":
		os.Exit(coordinatorMain())
	case "fetch-worker":
		os.Exit(fetchWorkerMain())
	}
	os.Exit(m.Run())
}

// workerMain is a worker on the fake device that prints "job KEY-KIND
// FULL" when it takes a job and then holds it for the delay, so a kill
// lands mid-job.
func workerMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := pipeline.LoadConfig(os.Getenv(cfgEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	delay, err := time.ParseDuration(os.Getenv(delayEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err = Work(ctx, cfg, []string{os.Getenv(urlEnv)}, pipeline.Options{Device: &devicetest.Fake{}, Log: log}, WorkerOptions{Log: log,
		OnJob: func(ctx context.Context, j Job) {
			fmt.Printf("job %s-%s %t\n", j.Key, j.Kind, j.Full)
			sleep(ctx, delay)
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// coordinatorMain runs the search of its config (whose cluster section
// names the server) on the fake device, printing "evaluated N" after
// every evaluation.
func coordinatorMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := pipeline.LoadConfig(os.Getenv(cfgEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	run, err := pipeline.Open(ctx, cfg, pipeline.Options{Device: &devicetest.Fake{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer run.Close()
	_, err = Search(ctx, run, pipeline.SearchOptions{Progress: func(e search.Event) {
		if e.Kind == search.EventEvaluation {
			fmt.Printf("evaluated %d\n", e.Evaluations)
		}
	}}, nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// proc is a child process of the test whose output lines arrive on lines.
type proc struct {
	cmd    *exec.Cmd
	stderr strings.Builder
}

// startProc starts the test binary as role, sending each stdout line,
// prefixed with id, to lines.
func startProc(t *testing.T, id int, role, cfg, url string, delay time.Duration, lines chan<- string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	p.cmd.Env = append(os.Environ(), roleEnv+"="+role, cfgEnv+"="+cfg, urlEnv+"="+url, delayEnv+"="+delay.String())
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- fmt.Sprintf("%d %s", id, sc.Text())
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second): // a hang guard
			_ = p.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s %d stderr:\n%s", role, id, p.stderr.String())
		}
	})
	return p
}

// writeConfigs writes the tiny search (12 evaluations, 3 at a time) as
// ref.yaml, run in one process in dir/ref, and as cluster.yaml with the
// cluster section clusterYAML, run in dir/run.
func writeConfigs(t *testing.T, dir, clusterYAML string) (ref, clustered string) {
	t.Helper()
	base, err := os.ReadFile(pipelinetest.WriteConfigs(t, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(base), "population_size: 4", "population_size: 4\n  parallelism: 3", 1)
	text = strings.Replace(text, "max_evaluations: 5", "max_evaluations: 12", 1)
	ref = filepath.Join(dir, "ref.yaml")
	refText := strings.Replace(text, "run_dir: "+filepath.Join(dir, "run"), "run_dir: "+filepath.Join(dir, "ref"), 1)
	if err := os.WriteFile(ref, []byte(refText), 0o644); err != nil {
		t.Fatal(err)
	}
	clustered = filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(clustered, []byte(text+"cluster: "+clusterYAML+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return ref, clustered
}

// singleProcessFront runs the search of cfgPath in this process, on the
// fake device (it trains the tiny teacher the first time).
func singleProcessFront(t *testing.T, cfgPath string) *pipeline.Front {
	t.Helper()
	cfg, err := pipeline.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	run, err := pipeline.Open(context.Background(), cfg, pipeline.Options{Device: &devicetest.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	f, err := run.Search(context.Background(), pipeline.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sameFront fails unless got and want hold the same candidates with the
// same numbers, in the same order, and the same front.
func sameFront(t *testing.T, got, want *pipeline.Front) {
	t.Helper()
	type row struct {
		key      string
		acc      float64
		median   time.Duration
		gen, pos int
	}
	rows := func(cs []search.Candidate) []row {
		var out []row
		for _, c := range cs {
			out = append(out, row{c.Key, c.Result.Accuracy, c.Result.Latency.Median, c.Generation, c.Slot})
		}
		return out
	}
	if g, w := rows(got.All), rows(want.All); fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("evaluated candidates differ:\ngot  %v\nwant %v", g, w)
	}
	var g, w []string
	for _, m := range got.Members {
		g = append(g, fmt.Sprintf("%s acc=%v full=%v", m.Key, m.Result.Accuracy, m.Full.Accuracy))
	}
	for _, m := range want.Members {
		w = append(w, fmt.Sprintf("%s acc=%v full=%v", m.Key, m.Result.Accuracy, m.Full.Accuracy))
	}
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("fronts differ:\ngot  %v\nwant %v", g, w)
	}
	if len(got.Members) == 0 {
		t.Error("empty front")
	}
}

// TestWorkerKilledMidJob evaluates a search on 3 worker processes
// through an embedded server on loopback and kills one with SIGKILL while
// it holds a job: the job is delivered to another worker after the ack
// wait, every evaluation is filed in the cache exactly once (one store per
// entry), the killed worker's job among them, and the front equals a
// single-process run's with the same seed.
func TestWorkerKilledMidJob(t *testing.T) {
	dir := t.TempDir()
	refCfg, cfgPath := writeConfigs(t, dir, `{embedded: {listen: "127.0.0.1:0"}, ack_wait: 1s}`)
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	run, err := pipeline.Open(ctx, cfg, pipeline.Options{Device: &devicetest.Fake{}})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	lines := make(chan string, 1024)
	var workers []*proc
	for i := range 3 {
		workers = append(workers, startProc(t, i, "worker", cfgPath, srv.ClientURL(), 400*time.Millisecond, lines))
	}
	nc, err := Connect(cfg.Cluster, []string{srv.ClientURL()}, "test-coordinator")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var (
		coord *Coordinator
		ev    *evaluator.Evaluator
	)
	type outcome struct {
		f   *pipeline.Front
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		f, err := run.Search(ctx, pipeline.SearchOptions{Evaluator: func(e *evaluator.Evaluator) (pipeline.SearchEvaluator, error) {
			ev = e
			var err error
			coord, err = NewCoordinator(ctx, nc, e, run.ID, cfg.Cluster, nil)
			return coord, err
		}})
		done <- outcome{f, err}
	}()
	var (
		killedKey string
		jobs      = map[string]int{}
		got       outcome
	)
wait:
	for {
		select {
		case l := <-lines:
			var id int
			var key, full string
			if n, _ := fmt.Sscanf(l, "%d job %s %s", &id, &key, &full); n != 3 {
				continue
			}
			jobs[key]++
			if killedKey == "" {
				if err := workers[id].cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killedKey = key
			}
		case got = <-done:
			break wait
		}
	}
	if got.err != nil {
		t.Fatalf("search: %v", got.err)
	}
	defer coord.Close()
	sameFront(t, got.f, want)

	st := coord.Stats()
	cs := run.CacheStats()
	if st.Stored != cs.Entries {
		t.Errorf("coordinator stored %d results, the cache holds %d entries: some key was filed twice", st.Stored, cs.Entries)
	}
	var k evaluator.CacheKey
	b, err := hex.DecodeString(strings.SplitN(killedKey, "-", 2)[0])
	if err != nil || len(b) != len(k) {
		t.Fatalf("killed job key %q", killedKey)
	}
	copy(k[:], b)
	if _, ok, err := ev.Lookup(k); err != nil || !ok {
		t.Errorf("the killed worker's job %s is not in the cache (%v)", killedKey[:16], err)
	}
	if jobs[killedKey] < 2 {
		t.Errorf("the killed worker's job was taken %d times, want it redelivered", jobs[killedKey])
	}
	for _, c := range got.f.All {
		if _, ok, err := ev.Lookup(ev.Key(c.Result.Arch, false)); err != nil || !ok {
			t.Errorf("candidate %s is not in the cache (%v)", c.Key, err)
		}
	}
	t.Logf("jobs taken %d (distinct %d), coordinator %+v, cache %+v", sumValues(jobs), len(jobs), st, cs)
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestCoordinatorRestart kills the coordinator (a search process) with
// SIGKILL mid-search and starts it again: the search resumes from its
// cache and run state, the workers' replies of the first coordinator are
// filed by the second, no job is evaluated twice, and the front equals a
// single-process run's with the same seed.
func TestCoordinatorRestart(t *testing.T) {
	dir := t.TempDir()
	srv, err := StartServer(pipeline.ClusterConfig{Embedded: &pipeline.EmbeddedNATSConfig{Listen: "127.0.0.1:0"}}, filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	url := srv.ClientURL()
	refCfg, cfgPath := writeConfigs(t, dir, fmt.Sprintf(`{urls: [%q], ack_wait: 1s}`, url))
	want := singleProcessFront(t, refCfg)

	lines := make(chan string, 1024)
	for i := range 2 {
		startProc(t, i, "worker", cfgPath, url, 300*time.Millisecond, lines)
	}
	jobs := map[string]int{}
	// runCoordinator runs a coordinator process with id, killing it with
	// SIGKILL after killAfter evaluations (0: never); it returns whether
	// it exited successfully.
	runCoordinator := func(id, killAfter int) bool {
		p := startProc(t, id, "coordinator", cfgPath, url, 0, lines)
		exited := make(chan error, 1)
		go func() { exited <- p.cmd.Wait() }()
		guard := time.After(3 * time.Minute) // a hang guard
		for {
			select {
			case l := <-lines:
				var from, n int
				var key, full string
				if c, _ := fmt.Sscanf(l, "%d job %s %s", &from, &key, &full); c == 3 {
					jobs[key+" "+full]++
				} else if c, _ := fmt.Sscanf(l, "%d evaluated %d", &from, &n); c == 2 && from == id && killAfter > 0 && n >= killAfter {
					if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					killAfter = 0
				}
			case err := <-exited:
				// The process's exit is reported once: Cleanup's Wait finds it done.
				exited = nil
				return err == nil
			case <-guard:
				t.Fatalf("coordinator %d: no exit after 3 minutes:\n%s", id, p.stderr.String())
			}
		}
	}
	if runCoordinator(10, 5) {
		t.Fatal("the first coordinator finished before it was killed")
	}
	if !runCoordinator(11, 0) {
		t.Fatal("the restarted coordinator failed")
	}
	// Workers may still print a job's line after the search ended.
	for drained := false; !drained; {
		select {
		case l := <-lines:
			var from int
			var key, full string
			if c, _ := fmt.Sscanf(l, "%d job %s %s", &from, &key, &full); c == 3 {
				jobs[key+" "+full]++
			}
		default:
			drained = true
		}
	}
	for k, n := range jobs {
		if n > 1 {
			t.Errorf("job %s evaluated %d times", k[:16], n)
		}
	}
	got, err := pipeline.LoadFront(filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	sameFront(t, got, want)
	if got.Partial {
		t.Error("the restarted search's front is partial")
	}
	t.Logf("%d jobs evaluated by the workers", len(jobs))
}
