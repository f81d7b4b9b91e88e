package space

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/internal/limitio/limitiotest"
)

func TestLoadSpecLimits(t *testing.T) {
	sparse := filepath.Join(t.TempDir(), "space.yaml")
	limitiotest.Sparse(t, sparse)
	for _, tc := range []struct {
		name, path string
	}{
		{"sparse 5 GB spec", sparse},
		{"dev zero", "/dev/zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.path); err != nil {
				t.Skip(err)
			}
			_, err := LoadSpec(tc.path)
			want := tc.path + ": file is larger than the 16 MiB limit for a search space spec"
			if !errors.Is(err, limitio.ErrTooLarge) || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want %q", err, want)
			}
		})
	}
}
