package compress

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/limitio"
)

func TestLoadImportanceLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "importance.json")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 5<<30); err != nil { // a hole: costs no disk
		t.Skip("no sparse files:", err)
	}
	_, err := LoadImportance(p, nil) // refused before the teacher is consulted
	want := "importance.json: file is larger than the 64 MiB limit for an importance score file"
	if !errors.Is(err, limitio.ErrTooLarge) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}
