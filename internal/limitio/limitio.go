// Package limitio reads whole files with a size limit, so that no input
// (a huge or sparse file, /dev/zero, a pipe that never ends) can exhaust
// memory: a file over its limit is refused with an error wrapping
// ErrTooLarge that says what kind of file it is and what the limit is.
//
// The limits below are generous for every real file of their kind; a
// reader of another kind picks its own.
//
// ReadFile is safe for concurrent use.
package limitio

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Limits, in bytes, for the files edgenas reads whole.
const (
	// ConfigLimit bounds a JSON or YAML config (config.json,
	// tokenizer_config.json, training, search and space YAML) and a
	// run's JSON state files.
	ConfigLimit = 16 << 20
	// VocabLimit bounds a vocabulary (vocab.txt, tokenizer.json) and a
	// saved importance score file.
	VocabLimit = 64 << 20
	// LineLimit bounds one line of a line-oriented data file (TSV, JSONL,
	// raw text).
	LineLimit = 1 << 20
)

// ErrTooLarge is wrapped by the error of ReadFile for a file over its
// limit.
var ErrTooLarge = errors.New("file too large")

// ReadFile reads the file at path whole, refusing one larger than limit
// bytes with an error wrapping ErrTooLarge, e.g. "config.json: file is
// larger than the 16 MiB limit for a model config". what names the kind
// of file for that message. A regular file over the limit is refused from
// its size, before anything is read; any other file (a device, a pipe) is
// read through a limit of limit+1 bytes, so /dev/zero stops at once (a
// named pipe is opened as any reader opens it: waiting for a writer). A
// directory is an error.
func ReadFile(path string, limit int64, what string) ([]byte, error) {
	tooLarge := func() error {
		return fmt.Errorf("%s: file is larger than the %s limit for %s: %w", path, Size(limit), what, ErrTooLarge)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, want %s", path, what)
	}
	if st.Mode().IsRegular() && st.Size() > limit {
		return nil, tooLarge()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(buf)) > limit {
		return nil, tooLarge()
	}
	return buf, nil
}

// Size formats a byte count for messages: "16 MiB", "512 KiB" or "100
// bytes", exact when the count is a whole number of the unit.
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
