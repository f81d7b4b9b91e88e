package train

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/atomicfile"
	"github.com/edgenas/edgenas/internal/limitio"
)

// sparseFile creates a file of size bytes that costs no disk (a hole).
func sparseFile(t *testing.T, path string, size int64) string {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Skip("no sparse files:", err)
	}
	return path
}

// TestReadLimits checks that every file train reads is bounded: a huge or
// endless file fails at once with an error naming it, never by exhausting
// memory.
func TestReadLimits(t *testing.T) {
	dir := t.TempDir()
	const huge = 5 << 30
	longLine := func(name, prefix string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(prefix+strings.Repeat("x", 10<<20)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stateDir := filepath.Join(dir, "last")
	if err := os.Mkdir(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sparseFile(t, filepath.Join(stateDir, StateFile), huge)
	if err := os.MkdirAll(filepath.Join(dir, PretrainDir), 0o755); err != nil {
		t.Fatal(err)
	}
	sparseFile(t, filepath.Join(dir, PretrainDir, StateFile), huge)

	examples := func(path string) error { _, err := ReadExamples(path, 2); return err }
	for _, tc := range []struct {
		name string
		read func() error
		want string
	}{
		{"TSV with a 10 MB line", func() error { return examples(longLine("long.tsv", "sentence\tlabel\nok\t1\n")) },
			"long.tsv:3: line is longer than the 1 MiB limit"},
		{"JSONL with a 10 MB line", func() error { return examples(longLine("long.jsonl", `{"text":"ok","label":1}`+"\n")) },
			"long.jsonl:2: line is longer than the 1 MiB limit"},
		{"text with a 10 MB line", func() error { _, err := ReadText(longLine("long.txt", "")); return err },
			"long.txt:1: line is longer than the 1 MiB limit"},
		{"sparse 5 GB TSV", func() error { return examples(sparseFile(t, filepath.Join(dir, "huge.tsv"), huge)) },
			"huge.tsv:1: line is longer than the 1 MiB limit"},
		{"sparse 5 GB training config", func() error {
			_, err := LoadConfig(sparseFile(t, filepath.Join(dir, "huge.yaml"), huge))
			return err
		}, "huge.yaml: file is larger than the 16 MiB limit for a training config"},
		{"dev zero as training config", func() error {
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("no /dev/zero")
			}
			_, err := LoadConfig("/dev/zero")
			return err
		}, "/dev/zero: file is larger than the 16 MiB limit for a training config"},
		{"sparse 5 GB checkpoint state", func() error { _, err := readState(stateDir); return err },
			"state.json: file is larger than the 16 MiB limit for a checkpoint state"},
		{"sparse 5 GB pretraining state", func() error { _, err := readPretrainState(dir); return err },
			"state.json: file is larger than the 16 MiB limit for a pretraining state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(tc.want, "file is larger") && !errors.Is(err, limitio.ErrTooLarge) {
				t.Fatalf("%v does not wrap limitio.ErrTooLarge", err)
			}
			if strings.Contains(tc.want, "line is longer") && !errors.Is(err, ErrData) {
				t.Fatalf("%v does not wrap ErrData", err)
			}
		})
	}
}

func TestReplaceDirRefusesNonDirectories(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, root string) string
		want string
	}{
		{"symlink to a directory", func(t *testing.T, root string) string {
			real := filepath.Join(root, "elsewhere")
			if err := os.Mkdir(real, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(real, "keep"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(root, LastDir)
			if err := os.Symlink(real, link); err != nil {
				t.Skip("no symlinks:", err)
			}
			return link
		}, "last is a symbolic link, not a directory: refusing to replace it"},
		{"regular file", func(t *testing.T, root string) string {
			p := filepath.Join(root, BestDir)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "best is a regular file, not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := tc.make(t, root)
			before, _ := os.Lstat(dir)
			filled := false
			err := replaceDir(dir, func(string) error { filled = true; return nil })
			if !errors.Is(err, atomicfile.ErrRefused) || !strings.Contains(err.Error(), tc.want) || filled {
				t.Fatalf("got %v (filled %v), want an error containing %q", err, filled, tc.want)
			}
			if after, err := os.Lstat(dir); err != nil || after.Mode() != before.Mode() {
				t.Fatalf("%s changed: %v", dir, err)
			}
		})
	}
}
