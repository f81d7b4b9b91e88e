package safetensors

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range badFiles {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path)
			checkErr(t, err, tc.want, tc.tensor, path)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(dir, "nope.safetensors")
		_, err := ReadFile(path)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("error = %v, want fs.ErrNotExist", err)
		}
		if strings.Count(err.Error(), path) != 1 {
			t.Errorf("error %q should name the path once", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), dir) {
			t.Fatalf("error = %v, want one naming %s", err, dir)
		}
	})
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	good := []Tensor{FromFloat32("w", []int{2}, []float32{1, 2})}
	bad := []Tensor{FromFloat32("w", []int{3}, []float32{1, 2})} // shape mismatch

	t.Run("invalid tensor leaves the old file", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "model.safetensors")
		if err := WriteFile(path, good, nil); err != nil {
			t.Fatal(err)
		}
		old, _ := os.ReadFile(path)
		err := WriteFile(path, bad, nil)
		checkErr(t, err, ErrShapeMismatch, "w", path)
		now, _ := os.ReadFile(path)
		if !bytes.Equal(now, old) {
			t.Error("old file changed")
		}
		if got := listDir(t, dir); !slices.Equal(got, []string{"model.safetensors"}) {
			t.Errorf("dir holds %q", got)
		}
	})
	t.Run("invalid tensor creates nothing", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "model.safetensors")
		if err := WriteFile(path, bad, nil); err == nil {
			t.Fatal("no error")
		}
		if got := listDir(t, dir); len(got) != 0 {
			t.Errorf("dir holds %q", got)
		}
	})
	t.Run("rename fails", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "model.safetensors")
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path, "keep"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(path, good, nil)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("error = %v, want one naming the path", err)
		}
		if got := listDir(t, dir); !slices.Equal(got, []string{"model.safetensors"}) {
			t.Errorf("temporary file left behind: %q", got)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no", "model.safetensors")
		if err := WriteFile(path, good, nil); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
			t.Fatalf("error = %v, want one starting with the path", err)
		}
	})
	t.Run("replace", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "model.safetensors")
		if err := os.WriteFile(path, []byte("old junk"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(path, good, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		f, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := equalTensors(f.Tensors, good); d != "" || f.Metadata["format"] != "pt" {
			t.Errorf("read back %v %v: %s", f.Tensors, f.Metadata, d)
		}
		st, _ := os.Stat(path)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v, want the old 0600 kept", st.Mode())
		}
		if got := listDir(t, dir); !slices.Equal(got, []string{"model.safetensors"}) {
			t.Errorf("dir holds %q", got)
		}
	})
	t.Run("new file mode", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "model.safetensors")
		if err := WriteFile(path, good, nil); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(path)
		if st.Mode().Perm() != 0o644 {
			t.Errorf("mode = %v, want 0644", st.Mode())
		}
	})
}
