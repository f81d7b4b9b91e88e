//go:build !unix

package boltfile

import "time"

// lockFile does nothing where flock is not available: there, Open's check
// and Repair are not guarded against a process writing the file at the
// same time (bbolt itself still locks the file it opens).
func lockFile(string, time.Duration) (func(), error) { return func() {}, nil }
