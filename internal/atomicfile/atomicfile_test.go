package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := WriteBytes(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("failed write changed the file: %q", b)
	}
	if err := WriteBytes(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("replaced file lost its mode: %v", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := WriteBytes(filepath.Join(dir, "missing", "f"), nil); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

func TestWriteRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.txt")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func(t *testing.T) string // returns the destination
		want string
	}{
		{"named pipe", func(t *testing.T) string {
			p := filepath.Join(dir, "out.onnx")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skip("no FIFOs:", err)
			}
			return p
		}, "out.onnx is a named pipe, not a regular file: refusing to replace it"},
		{"dev null", func(t *testing.T) string {
			if _, err := os.Stat(os.DevNull); err != nil {
				t.Skip("no", os.DevNull)
			}
			return os.DevNull
		}, os.DevNull + " is a device file, not a regular file"},
		{"symlink to a file", func(t *testing.T) string {
			p := filepath.Join(dir, "link.txt")
			if err := os.Symlink(target, p); err != nil {
				t.Skip("no symlinks:", err)
			}
			return p
		}, "link.txt is a symbolic link, not a regular file"},
		{"symlink to a directory", func(t *testing.T) string {
			p := filepath.Join(dir, "linkdir")
			if err := os.Symlink(sub, p); err != nil {
				t.Skip("no symlinks:", err)
			}
			return p
		}, "linkdir is a symbolic link, not a regular file"},
		{"directory", func(t *testing.T) string { return sub }, "sub is a directory, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.make(t)
			before, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			err = WriteBytes(p, []byte("new"))
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error wrapping ErrRefused containing %q", err, tc.want)
			}
			after, err := os.Lstat(p)
			if err != nil || after.Mode() != before.Mode() {
				t.Fatalf("destination changed: %v, %v", after, err)
			}
			if b, _ := os.ReadFile(target); string(b) != "keep" {
				t.Fatalf("symlink target written through: %q", b)
			}
			if tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(tmps) > 0 {
				t.Fatalf("temporary files left: %v", tmps)
			}
		})
	}
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	for _, tc := range []struct {
		name   string
		path   string
		exists bool
		want   string // error substring, "" for none
	}{
		{"directory", dir, true, ""},
		{"missing", filepath.Join(dir, "nope"), false, ""},
		{"regular file", file, false, "file is a regular file, not a directory: refusing to replace it"},
		{"symlink to a directory", link, false, "link is a symbolic link, not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exists, err := CheckDir(tc.path)
			if tc.want == "" {
				if err != nil || exists != tc.exists {
					t.Fatalf("got %v, %v; want %v", exists, err, tc.exists)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
