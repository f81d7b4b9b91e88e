//go:build unix

package boltfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockFile takes the exclusive flock bbolt takes on the file at path,
// waiting at most wait, so that no other process writes the file while it
// is read; release drops it. Another process holding it is ErrLocked.
func lockFile(path string, wait time.Duration) (release func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing the descriptor drops the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
