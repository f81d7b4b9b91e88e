package devices

import (
	"context"
	"slices"
	"testing"
)

func TestStartMeasure(t *testing.T) {
	var calls []string
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want []string
	}{
		{"no trace", context.Background(), nil},
		{"both hooks", WithTrace(context.Background(), &Trace{
			MeasureStart: func() { calls = append(calls, "start") },
			MeasureDone:  func() { calls = append(calls, "done") },
		}), []string{"start", "done"}},
		{"start only", WithTrace(context.Background(), &Trace{MeasureStart: func() { calls = append(calls, "start") }}), []string{"start"}},
		{"done only", WithTrace(context.Background(), &Trace{MeasureDone: func() { calls = append(calls, "done") }}), []string{"done"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls = nil
			done := StartMeasure(tc.ctx)
			done()
			if !slices.Equal(calls, tc.want) {
				t.Errorf("hooks called %v, want %v", calls, tc.want)
			}
		})
	}
}
