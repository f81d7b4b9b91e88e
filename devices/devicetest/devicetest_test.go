package devicetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/transformer"
)

func TestFakeConformance(t *testing.T) {
	Conformance(t, &Fake{})
}

func TestFakeDeterministic(t *testing.T) {
	small, _ := Models(t)
	f := &Fake{}
	a, err := f.Measure(context.Background(), small, devices.Workload{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.Measure(context.Background(), small, devices.Workload{})
	if a != b {
		t.Fatalf("same model measured %+v then %+v", a, b)
	}
	if f.Measures() != 2 {
		t.Fatalf("Measures() = %d", f.Measures())
	}
}

// TestFakeCostlierIsSlower compares simulated timings: the Fake's latency
// is a function of the model's FLOPs, not of the machine, so this is not a
// wall-clock assertion.
func TestFakeCostlierIsSlower(t *testing.T) {
	small, large := Models(t)
	f := &Fake{}
	a, err := f.Measure(context.Background(), small, devices.Workload{SeqLen: 128})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Measure(context.Background(), large, devices.Workload{SeqLen: 128})
	if err != nil {
		t.Fatal(err)
	}
	// BERT-mini does about 8× the work of BERT-tiny.
	if b.Median < 2*a.Median {
		t.Fatalf("simulated BERT-mini %v is not clearly slower than BERT-tiny %v", b.Median, a.Median)
	}
}

func TestFakeFailFirst(t *testing.T) {
	small, _ := Models(t)
	f := &Fake{FailFirst: 2}
	for i := 1; i <= 3; i++ {
		_, err := f.Measure(context.Background(), small, devices.Workload{})
		if got := errors.Is(err, devices.ErrUnavailable); got != (i <= 2) {
			t.Fatalf("call %d: %v, want ErrUnavailable only for the first 2", i, err)
		}
	}
	if f.Measures() != 1 {
		t.Errorf("Measures() = %d, want 1 (failed calls are not measurements)", f.Measures())
	}
}

func TestFakeMeasuresAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  devices.Device
		want bool
	}{
		{"alone", &Fake{Alone: true}, true},
		{"not alone", &Fake{}, false},
		{"no Exclusive", untraced{&Fake{Alone: true}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := devices.MeasuresAlone(tc.dev); got != tc.want {
				t.Errorf("MeasuresAlone = %v, want %v", got, tc.want)
			}
		})
	}
}

// untraced is a device that hides its context from the device it wraps,
// so it never reports to a Trace; it does not implement Exclusive.
type untraced struct{ d devices.Device }

func (u untraced) Name() string { return u.d.Name() }

func (u untraced) Fingerprint(ctx context.Context) (string, error) { return u.d.Fingerprint(ctx) }

func (u untraced) Measure(ctx context.Context, m *transformer.Model, w devices.Workload) (devices.Measurement, error) {
	return u.d.Measure(context.Background(), m, w)
}

// TestChecksCatchBrokenDevices runs single checks of the suite on devices
// that break the contract and proves the suite fails them, and passes the
// correct Fake.
func TestChecksCatchBrokenDevices(t *testing.T) {
	small, large := Models(t)
	check := func(name string) Check {
		for _, c := range Checks() {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no check %q", name)
		return Check{}
	}
	for _, tc := range []struct {
		name  string
		check string
		dev   devices.Device
		want  string // "" to pass
	}{
		{"serializing fake", "Concurrent", &Fake{}, ""},
		{"overlapping fake", "Concurrent", &Fake{Overlapping: true}, "overlapped"},
		{"device ignoring the trace", "Concurrent", untraced{&Fake{}}, "devices.StartMeasure"},
		{"unavailable device", "Stats", &Fake{FailFirst: 1}, "device unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := check(tc.check).Run(context.Background(), tc.dev, small, large)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("correct device failed: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
