//go:build !linux

package qgemm

// amxPermitted reports false: AMX is used on Linux only, which grants its
// tile state on request.
func amxPermitted() bool { return false }
