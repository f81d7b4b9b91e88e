package train

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplaceDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	write := func(content string) error {
		return replaceDir(dir, func(tmp string) error {
			return os.WriteFile(filepath.Join(tmp, "f"), []byte(content), 0o644)
		})
	}
	read := func() string {
		data, err := os.ReadFile(filepath.Join(dir, "f"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if err := write("one"); err != nil || read() != "one" {
		t.Fatalf("first write: %v", err)
	}
	if err := write("two"); err != nil || read() != "two" {
		t.Fatalf("second write: %v", err)
	}
	// A failing fill leaves the previous checkpoint and no temporary files.
	boom := errors.New("boom")
	err := replaceDir(dir, func(tmp string) error {
		os.WriteFile(filepath.Join(tmp, "f"), []byte("half"), 0o644)
		return boom
	})
	if !errors.Is(err, boom) || read() != "two" {
		t.Fatalf("failed write: %v, content %q", err, read())
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".*"))
	if len(left) > 0 {
		t.Errorf("left over: %v", left)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("checkpoint dir mode: %v %v", fi.Mode(), err)
	}
}

func TestReadStateErrors(t *testing.T) {
	cases := map[string]string{
		"not json":    "{",
		"old version": `{"version": 0}`,
		"negative":    `{"version": 1, "step": -1}`,
		"past total":  `{"version": 1, "step": 5, "total_steps": 4}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, StateFile), []byte(content), 0o644)
			_, err := readState(dir)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, StateFile)) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
