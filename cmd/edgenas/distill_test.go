package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/pipeline"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
	"github.com/edgenas/edgenas/reports"
)

// TestDistill runs a tiny search, distils its best student with edgenas
// distill (the distilled front printed, as JSON too), and checks that the
// report then shows both fronts; bad arguments exit 2.
func TestDistill(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "distill: {checkpoint_every: 4, lr: 3e-3, threads: 1}\n")
	runDir := filepath.Join(dir, "run")
	if code, _, stderr := runCLI(t, "search", "-c", cfg); code != 0 {
		t.Fatalf("search: exit %d: %s", code, stderr)
	}
	code, out, stderr := runCLI(t, "distill", runDir, "--select", "top=1", "--steps", "8")
	if code != 0 || !strings.Contains(out, "Distilled front: 1 of 1 distilled students") || !strings.Contains(out, " → ") ||
		!strings.Contains(stderr, "student 1/1") || !strings.Contains(stderr, "step 8/8") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	f, err := pipeline.LoadFront(runDir)
	if err != nil || len(f.Distilled) != 1 || f.Distilled[0].Settings.Steps != 8 {
		t.Fatalf("front.json: %v, %+v", err, f.Distilled)
	}
	code, out, stderr = runCLI(t, "distill", runDir, "--select", "top=1", "--steps", "8", "--json")
	var tab reports.Table
	if code != 0 || json.Unmarshal([]byte(out), &tab) != nil || !tab.Distilled || len(tab.Rows) != 2 || !strings.Contains(stderr, "distilled already") {
		t.Fatalf("exit %d, stdout %s, stderr %s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "report", runDir); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	page, err := os.ReadFile(filepath.Join(runDir, "report.html"))
	if err != nil || !strings.Contains(string(page), `<h2 id="front">Pareto front</h2>`) || !strings.Contains(string(page), `<h2 id="distilled">Distilled front</h2>`) ||
		!strings.Contains(string(page), "distilled front (purple)") {
		t.Fatalf("report.html: %v; lacks one of the two fronts", err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no run directory", []string{"distill"}, "usage"},
		{"bad select", []string{"distill", runDir, "--select", "top=0"}, "--select"},
		{"negative steps", []string{"distill", runDir, "--steps", "-1"}, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d (want 2), stderr %q lacks %q", code, stderr, tc.want)
			}
		})
	}
}
