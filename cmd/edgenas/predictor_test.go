package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

func TestPredictorCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	runDir := filepath.Join(dir, "run")
	if code, _, stderr := runCLI(t, "search", "-c", cfg); code != 0 {
		t.Fatalf("search: exit %d: %s", code, stderr)
	}
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		// The test search measures 5 candidates: too few to fit on 80 %.
		{"too few measured", []string{"predictor", runDir}, 1, "too few samples"},
		{"no run directory", []string{"predictor"}, 2, "want one run directory"},
		{"two run directories", []string{"predictor", runDir, empty}, 2, "more than one run directory"},
		{"bad flag", []string{"predictor", runDir, "--bogus"}, 2, "bogus"},
		{"no front", []string{"predictor", empty}, 1, "no front saved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, stderr, tc.want)
			}
		})
	}
}
