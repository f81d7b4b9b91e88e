// Package atomicfile writes files so that a reader or a crash never sees a
// partial one: the data goes to a temporary file in the same directory, is
// synced, and is renamed over the destination. It only ever replaces a
// regular file: a symbolic link, a directory, a named pipe, a device or a
// socket at the destination is refused, never replaced or written through.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrRefused is wrapped by the error for a destination that is not of the
// kind a function replaces (e.g. a named pipe where a file is written).
var ErrRefused = errors.New("refusing to replace it")

// Write creates or replaces path atomically with the bytes that fill
// writes. A new file gets mode 0644, a replaced file keeps its mode. A
// destination that exists and is not a regular file is refused with an
// error wrapping ErrRefused, e.g. "out.onnx is a named pipe, not a regular
// file: refusing to replace it". When fill or any step fails, path is left
// as it was and no temporary file remains.
func Write(path string, fill func(w io.Writer) error) (err error) {
	perm := fs.FileMode(0o644)
	st, err := os.Lstat(path)
	switch {
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("%s is %s, not a regular file: %w", path, kind(st.Mode()), ErrRefused)
	case err == nil:
		perm = st.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
		}
	}()
	if err = fill(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// WriteBytes creates or replaces path atomically with data.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir makes a rename in dir durable where the platform allows it; the
// rename itself has already happened, so failure is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// CheckDir reports whether the directory path exists. Anything else at
// path (a symbolic link, even to a directory, a regular file, a named
// pipe, a device) is refused with an error wrapping ErrRefused, e.g. "run/last
// is a symbolic link, not a directory: refusing to replace it", so a
// directory written in its place never replaces or writes through it.
func CheckDir(path string) (bool, error) {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case !st.IsDir():
		return false, fmt.Errorf("%s is %s, not a directory: %w", path, kind(st.Mode()), ErrRefused)
	}
	return true, nil
}

// kind says in words what a file of mode m is.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0:
		return "a device file"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}
