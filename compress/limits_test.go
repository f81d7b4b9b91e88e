package compress

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/internal/limitio/limitiotest"
)

func TestLoadImportanceLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "importance.json")
	limitiotest.Sparse(t, p)
	_, err := LoadImportance(p, nil) // refused before the teacher is consulted
	want := "importance.json: file is larger than the 64 MiB limit for an importance score file"
	if !errors.Is(err, limitio.ErrTooLarge) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}
