package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

// TestReport runs a tiny search and its baselines, then writes the
// report: into the run directory by default, elsewhere with --out (paths
// as JSON with --json), the baselines marked in the plots, the proxy
// check shown; and fails with
// the right exit code on bad arguments or a directory without a front.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	runDir := filepath.Join(dir, "run")
	for _, args := range [][]string{{"search", "-c", cfg}, {"baselines", "-c", cfg}} {
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, stderr)
		}
	}
	t.Run("into the run directory", func(t *testing.T) {
		code, out, stderr := runCLI(t, "report", runDir)
		want := strings.Join([]string{filepath.Join(runDir, "report.html"), filepath.Join(runDir, "pareto.json"), filepath.Join(runDir, "pareto.csv")}, "\n") + "\n"
		if code != 0 || out != want {
			t.Fatalf("exit %d, stdout %q (want %q), stderr %s", code, out, want, stderr)
		}
		page, err := os.ReadFile(filepath.Join(runDir, "report.html"))
		// Four plots and the proxy check's (the search scored 24 of 48
		// examples).
		if err != nil || !strings.Contains(string(page), "each compression technique alone (baselines") || strings.Count(string(page), "<svg ") != 5 ||
			!strings.Contains(string(page), `<h2 id="proxy">`) {
			t.Errorf("report.html: %v; lacks the baselines, the proxy check or the five plots", err)
		}
	})
	t.Run("elsewhere as JSON", func(t *testing.T) {
		out := filepath.Join(dir, "out", "report")
		code, stdout, stderr := runCLI(t, "report", runDir, "--out", out, "--json")
		var paths map[string]string
		if code != 0 || json.Unmarshal([]byte(stdout), &paths) != nil {
			t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
		}
		for key, name := range map[string]string{"report": "report.html", "pareto_json": "pareto.json", "pareto_csv": "pareto.csv"} {
			if paths[key] != filepath.Join(out, name) {
				t.Errorf("%s: %q, want %q", key, paths[key], filepath.Join(out, name))
			}
			if _, err := os.Stat(filepath.Join(out, name)); err != nil {
				t.Error(err)
			}
		}
	})
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no run directory", []string{"report"}, 2, "want one run directory"},
		{"two run directories", []string{"report", runDir, empty}, 2, "want one run directory"},
		{"bad flag", []string{"report", runDir, "--bogus"}, 2, "bogus"},
		{"no front", []string{"report", empty}, 1, "no front saved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q lacks %q", code, tc.code, stderr, tc.want)
			}
		})
	}
}
