// Package jsonlog opens the JSON Lines files that resumable benchmark runs
// append one result to per line, so that a run killed in the middle of a
// write resumes from every complete line.
package jsonlog

import (
	"bytes"
	"errors"
	"os"
)

// Open opens the log at path for appending, creating it when absent. A
// last line left unfinished by an interrupted write is cut from the file.
// It returns the complete lines already in the log (nil for a new one)
// and the file, which the caller closes.
func Open(path string) (complete []byte, f *os.File, err error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		data = nil
	case err != nil:
		return nil, nil, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
		if err := os.Truncate(path, int64(i+1)); err != nil {
			return nil, nil, err
		}
	}
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return data, f, nil
}
