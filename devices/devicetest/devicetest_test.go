package devicetest

import (
	"context"
	"testing"

	"github.com/edgenas/edgenas/devices"
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
