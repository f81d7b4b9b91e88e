// Package promreg registers Prometheus collectors so that a component
// opened twice in one process (a resumed search, a reopened run) shares
// the collectors of the first instead of failing.
//
// It holds no state; a Registerer is always passed in.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg and returns it, or returns the collector
// already registered under the same description when it has c's type (a
// second instance of a component then counts into the first one's
// series). Any other failure is recorded in *err unless *err already
// holds one, and c is returned unregistered.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C, err *error) C {
	if e := reg.Register(c); e != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(e, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		if *err == nil {
			*err = e
		}
	}
	return c
}
