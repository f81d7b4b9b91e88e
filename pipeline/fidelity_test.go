package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/devices/devicetest"
	"github.com/edgenas/edgenas/pipeline/pipelinetest"
)

// TestMultiFidelitySearch runs a search with search.fidelity end to end:
// candidates are scored level by level on the dev examples, the front
// holds only candidates scored on all of them, and rescoring the front
// on every example is served from the cache (no build, no measurement).
func TestMultiFidelitySearch(t *testing.T) {
	dir := t.TempDir()
	path := pipelinetest.WriteConfigs(t, dir, "")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(data), "  budget: {max_evaluations: 5}\n",
		"  budget: {max_evaluations: 16, patience: -1}\n  fidelity: {levels: [8, 24, 48], margin: 0.5}\n", 1)
	if body == string(data) {
		t.Fatal("the shared search config changed: cannot add fidelity")
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	dev := &devicetest.Fake{}
	r, err := Open(context.Background(), cfg, Options{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Search(context.Background(), SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Evaluations != 16 || len(f.Members) == 0 {
		t.Fatalf("%d evaluations, %d front members", f.Evaluations, len(f.Members))
	}
	screened := 0
	for _, c := range f.All {
		switch {
		case c.Screened && c.Result.Examples >= len(r.Dev):
			t.Errorf("screened %s was scored on all %d examples", c.Key, c.Result.Examples)
		case !c.Screened && c.Result.Examples != len(r.Dev):
			t.Errorf("%s reached the last level but holds %d examples, want %d", c.Key, c.Result.Examples, len(r.Dev))
		case c.Screened:
			screened++
		}
	}
	measured := dev.Measures()
	for _, m := range f.Members {
		if m.Screened || m.Full == nil || !reflect.DeepEqual(*m.Full, m.Result) {
			t.Fatalf("front member %s: screened %v, rescored %+v, want its last-level result %+v", m.Key, m.Screened, m.Full, m.Result)
		}
	}
	// Each candidate measured once, whatever its levels; the teacher once
	// for the reference and once rescored.
	if measured > len(f.All)+2 {
		t.Fatalf("%d measurements for %d candidates", measured, len(f.All))
	}
	t.Logf("%d candidates, %d screened, front %d, %d measurements", len(f.All), screened, len(f.Members), measured)
	if _, err := os.Stat(filepath.Join(cfg.RunDir, FrontFile)); err != nil {
		t.Fatal(err)
	}
}
