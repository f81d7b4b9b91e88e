package reports

import (
	"strings"
	"testing"
	"time"
)

func TestParseLimits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Limits
		err  string
	}{
		{"latency=2ms,size=5MB", Limits{Latency: 2 * time.Millisecond, SizeBytes: 5_000_000}, ""},
		{"size=1.5MiB", Limits{SizeBytes: 1572864}, ""},
		{" latency = 1.5ms ", Limits{Latency: 1500 * time.Microsecond}, ""},
		{"size=300kb", Limits{SizeBytes: 300_000}, ""},
		{"size=2048", Limits{SizeBytes: 2048}, ""},
		{"size=1GiB", Limits{SizeBytes: 1 << 30}, ""},
		{"", Limits{}, `limit "": want latency=DURATION or size=SIZE`},
		{"latency", Limits{}, `limit "latency": want latency=DURATION`},
		{"latency=fast", Limits{}, `latency "fast": want a positive duration`},
		{"latency=-1ms", Limits{}, `latency "-1ms": want a positive duration`},
		{"size=5XB", Limits{}, `size "5XB": want a number and a unit`},
		{"size=MB", Limits{}, `size "MB": want a number and a unit`},
		{"size=0.1B", Limits{}, `want at least 1 byte`},
		{"size=1e30GB", Limits{}, `size "1e30GB"`},
		{"speed=2", Limits{}, `unknown limit "speed", want latency or size`},
		{"size=1MB,size=2MB", Limits{}, `size given twice`},
		{"latency=2ms,,size=1MB", Limits{}, `limit ""`},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseLimits(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
			if back, err := ParseLimits(got.String()); err != nil || back != got {
				t.Errorf("round trip of %q: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func FuzzParseLimits(f *testing.F) {
	for _, s := range []string{"latency=2ms,size=5MB", "size=1.5MiB", "latency=", "size=1e400B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimits(s)
		if err != nil {
			return
		}
		if l.Latency < 0 || l.SizeBytes < 0 || (l.Latency == 0 && l.SizeBytes == 0) {
			t.Fatalf("ParseLimits(%q) = %+v", s, l)
		}
		if back, err := ParseLimits(l.String()); err != nil || back != l {
			t.Fatalf("round trip of %q: %+v, %v", l.String(), back, err)
		}
	})
}
