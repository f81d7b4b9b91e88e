package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegister(t *testing.T) {
	counter := func() prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "edgenas_test_total", Help: "A test counter."})
	}
	t.Run("first registration", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		var err error
		c := counter()
		if got := Register(reg, c, &err); got != c || err != nil {
			t.Fatalf("got %v, %v; want the new collector and no error", got, err)
		}
	})
	t.Run("second registration reuses the first", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		var err error
		first := Register(reg, counter(), &err)
		second := Register(reg, counter(), &err)
		if err != nil || second != first {
			t.Fatalf("got %v, %v; want the first collector and no error", second, err)
		}
		second.Inc()
		if n, _ := reg.Gather(); len(n) != 1 || n[0].GetMetric()[0].GetCounter().GetValue() != 1 {
			t.Fatalf("gathered %v, want one counter at 1", n)
		}
	})
	t.Run("conflicting registration fails", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		var err error
		Register(reg, counter(), &err)
		gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgenas_test_total", Help: "Another help."})
		Register(reg, gauge, &err)
		if err == nil {
			t.Fatal("a gauge with a counter's name registered")
		}
		first := err
		Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgenas_test_total", Help: "Yet another."}), &err)
		if err != first {
			t.Errorf("the first error %v was replaced by %v", first, err)
		}
	})
}
