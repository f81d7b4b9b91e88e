package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/internal/boltfile"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

// TestRepair damages the cache.db of a finished search: the search fails
// with one clear message and no panic, repair keeps what verifies, and
// the search runs again on the repaired file.
func TestRepair(t *testing.T) {
	dir := t.TempDir()
	cfg := pipelinetest.WriteConfigs(t, dir, "")
	if code, _, stderr := runCLI(t, "search", "-c", cfg); code != 0 {
		t.Fatalf("search: exit %d: %s", code, stderr)
	}
	runDir := filepath.Join(dir, "run")
	path := filepath.Join(runDir, "cache.db")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := evaluator.OpenBoltCache(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries := cache.Stats().Entries
	cache.Close()

	t.Run("Healthy", func(t *testing.T) {
		code, out, stderr := runCLI(t, "repair", runDir)
		if code != 0 || !strings.Contains(out, "not damaged") {
			t.Fatalf("exit %d: %s%s", code, out, stderr)
		}
	})
	t.Run("Usage", func(t *testing.T) {
		if code, _, _ := runCLI(t, "repair"); code != 2 {
			t.Errorf("no run directory: exit %d", code)
		}
	})
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
		all    bool // every page holding records is intact
	}{
		{"TruncatedHalf", func(d []byte) []byte { return d[:len(d)/2+100] }, false},
		{"MetaPagesZeroed", func(d []byte) []byte { clear(d[:2*os.Getpagesize()]); return d }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.damage(append([]byte(nil), data...)), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI(t, "search", "-c", cfg)
			if code != 1 || !strings.Contains(stderr, "damaged") || !strings.Contains(stderr, "edgenas repair "+runDir) {
				t.Fatalf("search on a damaged cache: exit %d:\n%s", code, stderr)
			}
			code, out, stderr := runCLI(t, "repair", "--json", runDir)
			if code != 0 {
				t.Fatalf("repair: exit %d: %s", code, stderr)
			}
			var rep boltfile.RepairReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("--json: %v\n%s", err, out)
			}
			if rep.Healthy || len(rep.Salvaged) != 2 || rep.Salvaged[0].Recovered == 0 {
				t.Fatalf("report %+v", rep)
			}
			if _, err := os.Stat(rep.MovedTo); err != nil {
				t.Errorf("damaged file not kept: %v", err)
			}
			if tc.all && (rep.Salvaged[0].Recovered != entries || rep.Salvaged[1].Recovered != 1) {
				t.Errorf("intact pages, yet salvaged %+v of %d cache entries and one run", rep.Salvaged, entries)
			}
			code, _, stderr = runCLI(t, "search", "-c", cfg)
			if code != 0 {
				t.Fatalf("search after repair: exit %d: %s", code, stderr)
			}
			if strings.Contains(stderr, "damaged") {
				t.Errorf("search after repair still sees damage:\n%s", stderr)
			}
			if tc.all && strings.Contains(stderr, "eval ") {
				t.Errorf("the recovered finished run evaluated again:\n%s", stderr)
			}
		})
	}
}
