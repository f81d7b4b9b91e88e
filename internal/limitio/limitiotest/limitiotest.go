// Package limitiotest makes the oversized inputs that size-limit tests
// feed to readers.
package limitiotest

import (
	"os"
	"testing"
)

// HugeSize is the size of the files Sparse makes: far above every limit.
const HugeSize = 5 << 30

// Sparse writes path as a file of HugeSize bytes that is all hole, so it
// costs no disk; it skips the test where the file system cannot.
func Sparse(t testing.TB, path string) string {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, HugeSize); err != nil {
		t.Skip("no sparse files:", err)
	}
	return path
}
