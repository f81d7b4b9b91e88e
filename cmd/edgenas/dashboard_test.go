package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/internal/metricsserver"
	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/transformer"
)

// dashboardFile is the Grafana dashboard the README tells users to import.
const dashboardFile = "../../configs/grafana/edgenas.json"

// promJob is the job name the test's Prometheus scrapes the search as.
const promJob = "edgenas"

// panelExpr is one PromQL expression of the dashboard.
type panelExpr struct {
	panel, refID, expr string
}

// dashboardExprs returns every target expression of every panel of the
// dashboard (rows' nested panels included) and the queries of its
// templating variables.
func dashboardExprs(t *testing.T, path string) (exprs []panelExpr, variables map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		SchemaVersion int               `json:"schemaVersion"`
		UID           string            `json:"uid"`
		Panels        []json.RawMessage `json:"panels"`
		Templating    struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.SchemaVersion < 36 || d.UID == "" {
		t.Errorf("%s: schemaVersion %d, uid %q: want a Grafana 9+ dashboard with a uid", path, d.SchemaVersion, d.UID)
	}
	var walk func(raw []json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: panel: %v", path, err)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no targets", path, p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q target %s has no expr", path, p.Title, tg.RefID)
				}
				exprs = append(exprs, panelExpr{p.Title, tg.RefID, tg.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	variables = map[string]string{}
	for _, v := range d.Templating.List {
		variables[v.Name] = v.Definition
	}
	return exprs, variables
}

// gatedDevice wraps a device: its measurements wait until release is
// closed, and the first one after that fails as an unreachable device does.
type gatedDevice struct {
	devices.Device
	release chan struct{}
	failed  atomic.Bool
}

func (g *gatedDevice) MeasuresAlone() bool { return devices.MeasuresAlone(g.Device) }

func (g *gatedDevice) Measure(ctx context.Context, m *transformer.Model, w devices.Workload) (devices.Measurement, error) {
	select {
	case <-g.release:
	case <-ctx.Done():
		return devices.Measurement{}, ctx.Err()
	}
	if g.failed.CompareAndSwap(false, true) {
		return devices.Measurement{}, fmt.Errorf("gated device: simulated outage: %w", devices.ErrUnavailable)
	}
	return g.Device.Measure(ctx, m, w)
}

// prometheusServer is a Prometheus process the test started.
type prometheusServer struct {
	url string
	log string // its log file, for failures
}

// startPrometheus starts bin scraping target every second, its storage in
// a temporary directory, listening on a free loopback port; it is killed
// when the test ends.
func startPrometheus(t *testing.T, bin, target string) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	body := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: %s
    static_configs: [{targets: [%q]}]
`, promJob, target)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	p := &prometheusServer{url: "http://" + addr, log: logPath}
	deadline := time.Now().Add(60 * time.Second) // a hang guard, not a speed goal
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("prometheus exited before it was ready: %v\n%s", err, p.logText())
		default:
		}
		if resp, err := http.Get(p.url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 60s:\n%s", p.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *prometheusServer) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) float() float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// query runs an instant PromQL query and returns its samples; a query
// Prometheus rejects fails the test.
func (p *prometheusServer) query(t *testing.T, q string) []sample {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	if r.Status != "success" {
		t.Fatalf("query %s: %s: %s: %s", q, r.Status, r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "vector" {
		t.Fatalf("query %s: result type %s, want vector", q, r.Data.ResultType)
	}
	var out []sample
	if err := json.Unmarshal(r.Data.Result, &out); err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	return out
}

// waitFor polls q until it returns a sample, for at most a minute.
func (p *prometheusServer) waitFor(t *testing.T, q string) []sample {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a hang guard, not a speed goal
	for {
		if s := p.query(t, q); len(s) > 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no data for %s after a minute\nprometheus log:\n%s", q, p.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDashboardAgainstPrometheus runs a real Prometheus scraping a short
// search on loopback, then every PromQL expression of the Grafana
// dashboard against it: each must be accepted and return finite data.
// The search's measurements wait until Prometheus has scraped its metrics
// at zero, so that every rate has an increase in its window, and the first
// measurement fails as an unreachable device does, so the error and retry
// series move too.
func TestDashboardAgainstPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the prometheus binary is not installed (CI installs the Debian package prometheus in .ci/run): %v", err)
		}
		t.Skip("prometheus not installed (apt-get install prometheus); this test runs a real Prometheus server")
	}
	exprs, variables := dashboardExprs(t, dashboardFile)
	if len(exprs) == 0 {
		t.Fatalf("%s: no expressions", dashboardFile)
	}
	dir := t.TempDir()
	cfgPath := pipelinetest.WriteConfigs(t, dir, "")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// Retry the simulated outage at once.
	body := strings.Replace(string(data), "budget: {max_evaluations: 5}", "budget: {max_evaluations: 5}\n  retry: {initial_backoff: 10ms}", 1)
	if err := os.WriteFile(cfgPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := pipeline.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, stopMetrics, err := metricsserver.Start(ctx, metricsserver.Config{Listen: "127.0.0.1:0"}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stopMetrics()
	promStart := time.Now()
	prom := startPrometheus(t, bin, addr)
	prom.waitFor(t, `up{job="`+promJob+`"} == 1`)

	dev, err := local.New(cfg.Device.Local)
	if err != nil {
		t.Fatal(err)
	}
	gated := &gatedDevice{Device: dev, release: make(chan struct{})}
	run, err := pipeline.Open(ctx, cfg, pipeline.Options{Device: gated, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	type result struct {
		front *pipeline.Front
		err   error
	}
	done := make(chan result, 1)
	go func() {
		f, err := run.Search(ctx, pipeline.SearchOptions{})
		done <- result{f, err}
	}()
	// Every series the dashboard reads exists at zero before the first
	// measurement is let through.
	prom.waitFor(t, `edgenas_search_evaluations_total{job="`+promJob+`"}`)
	prom.waitFor(t, `edgenas_evaluations_total{job="`+promJob+`"}`)
	close(gated.release)
	var res result
	select {
	case res = <-done:
	case <-time.After(5 * time.Minute): // a hang guard, not a speed goal
		cancel()
		t.Fatal("the search did not finish")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	finished := time.Now()
	// One scrape after the search finished holds its final values.
	prom.waitFor(t, fmt.Sprintf(`timestamp(edgenas_search_evaluations_total{job=%q}) > %d`, promJob, finished.Unix()+1))

	// Every scrape since Prometheus started is inside every rate window.
	window := fmt.Sprintf("%ds", int(time.Since(promStart).Seconds())+30)
	vars := strings.NewReplacer("${__rate_interval}", window, "$__rate_interval", window, "${job}", promJob, "$job", promJob)
	for _, e := range exprs {
		t.Run(e.panel+"/"+e.refID, func(t *testing.T) {
			q := vars.Replace(e.expr)
			if strings.Contains(q, "$") {
				t.Fatalf("%s: a Grafana variable the test does not know: %s", e.expr, q)
			}
			samples := prom.query(t, q)
			if len(samples) == 0 {
				t.Fatalf("no data for %s", q)
			}
			for _, s := range samples {
				if v := s.float(); math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s: %v for %v", q, s.Value[1], s.Metric)
				}
			}
		})
	}
	// The job variable lists the search's job.
	if def := variables["job"]; def != "label_values(edgenas_search_evaluations_total, job)" {
		t.Errorf("job variable %q", def)
	}
	resp, err := http.Get(prom.url + "/api/v1/label/job/values?" + url.Values{"match[]": {"edgenas_search_evaluations_total"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jobs struct {
		Data []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil || !slices.Contains(jobs.Data, promJob) {
		t.Errorf("jobs with edgenas_search_evaluations_total: %v (%v), want %s", jobs.Data, err, promJob)
	}
	// What the search did reached Prometheus: its evaluations, the outage
	// and the retry of it.
	for q, want := range map[string]float64{
		`edgenas_search_evaluations_total`:                          float64(res.front.Evaluations),
		`edgenas_measurement_errors_total{kind="unavailable"}`:      1,
		`edgenas_search_evaluation_retries_total`:                   1,
		`edgenas_evaluations_total{outcome="error",source="fresh"}`: 1,
	} {
		s := prom.query(t, q)
		if len(s) != 1 || s[0].float() != want {
			t.Errorf("%s = %v, want %v", q, s, want)
		}
	}
}
