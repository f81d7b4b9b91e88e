package limitio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.json")
	if err := os.WriteFile(small, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse.json")
	if err := os.WriteFile(sparse, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 5<<30); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		path    string
		limit   int64
		want    string // content, when no error is expected
		tooBig  bool
		wantErr string
	}{
		{name: "under the limit", path: small, limit: 100, want: "0123456789"},
		{name: "exactly the limit", path: small, limit: 10, want: "0123456789"},
		{name: "one byte over", path: small, limit: 9, tooBig: true, wantErr: "small.json: file is larger than the 9 bytes limit for a test file"},
		{name: "sparse 5 GiB", path: sparse, limit: 16 << 20, tooBig: true, wantErr: "sparse.json: file is larger than the 16 MiB limit for a test file"},
		{name: "directory", path: dir, limit: 100, wantErr: "is a directory, want a test file"},
		{name: "missing", path: filepath.Join(dir, "nope"), limit: 100, wantErr: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadFile(tc.path, tc.limit, "a test file")
			if tc.wantErr == "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
			if errors.Is(err, ErrTooLarge) != tc.tooBig {
				t.Fatalf("errors.Is(%v, ErrTooLarge) = %v, want %v", err, !tc.tooBig, tc.tooBig)
			}
		})
	}
}

// TestReadFileEndless checks that files without a size, which never end,
// stop at the limit.
func TestReadFileEndless(t *testing.T) {
	t.Run("dev zero", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		_, err := ReadFile("/dev/zero", 1<<20, "a config")
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "/dev/zero: file is larger than the 1 MiB limit for a config") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "pipe")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip("no FIFOs:", err)
		}
		done := make(chan error, 1)
		go func() {
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				done <- err
				return
			}
			defer w.Close()
			chunk := make([]byte, 4096)
			for {
				if _, err := w.Write(chunk); err != nil {
					done <- nil // the reader gave up: broken pipe
					return
				}
			}
		}()
		_, err := ReadFile(fifo, 64<<10, "a config")
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{100, "100 bytes"},
		{1 << 10, "1 KiB"},
		{1<<20 + 1, "1048577 bytes"},
		{16 << 20, "16 MiB"},
		{2 << 30, "2 GiB"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := Size(tc.n); got != tc.want {
				t.Fatalf("Size(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}
