package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Limits bound the candidates export --best-under may choose; a zero
// field is no limit.
type Limits struct {
	// Latency is the largest median latency allowed.
	Latency time.Duration
	// SizeBytes is the largest saved size allowed.
	SizeBytes int64
}

// sizeUnits are the units ParseSize accepts, in bytes (SI and binary).
var sizeUnits = map[string]float64{
	"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30,
}

// ParseLimits reads limits written as comma-separated key=value parts:
// latency=DURATION (time.ParseDuration, e.g. 2ms) and size=SIZE
// (ParseSize, e.g. 5MB), each at most once and at least one of them. An
// error names the bad part and what was expected.
func ParseLimits(s string) (Limits, error) {
	var l Limits
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || val == "" {
			return Limits{}, fmt.Errorf("limit %q: want latency=DURATION or size=SIZE (e.g. latency=2ms,size=5MB)", part)
		}
		if seen[key] {
			return Limits{}, fmt.Errorf("limit %q: %s given twice", part, key)
		}
		seen[key] = true
		switch key {
		case "latency":
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return Limits{}, fmt.Errorf("limit %q: latency %q: want a positive duration such as 2ms or 1.5ms", part, val)
			}
			l.Latency = d
		case "size":
			n, err := ParseSize(val)
			if err != nil {
				return Limits{}, fmt.Errorf("limit %q: %w", part, err)
			}
			l.SizeBytes = n
		default:
			return Limits{}, fmt.Errorf("limit %q: unknown limit %q, want latency or size", part, key)
		}
	}
	return l, nil
}

// ParseSize reads a positive size: a number followed by a unit, B, KB,
// MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), case
// insensitive, e.g. 5MB, 1.5MiB, 300KB; a bare number is bytes.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, "B"
	if i >= 0 {
		num, unit = s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	}
	mult, ok := sizeUnits[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return 0, fmt.Errorf("size %q: want a number and a unit (B, KB, MB, GB, KiB, MiB or GiB), e.g. 5MB", s)
	}
	b := v * mult
	if !(b >= 1) || b > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q: want at least 1 byte and at most %d", s, int64(math.MaxInt64/2))
	}
	return int64(b), nil
}

// allows reports whether a row is within l.
func (l Limits) allows(r Row) bool {
	return (l.Latency == 0 || r.LatencyMS*1e6 <= float64(l.Latency)) && (l.SizeBytes == 0 || r.SizeBytes <= l.SizeBytes)
}

// String writes l as ParseLimits reads it.
func (l Limits) String() string {
	var parts []string
	if l.Latency > 0 {
		parts = append(parts, "latency="+l.Latency.String())
	}
	if l.SizeBytes > 0 {
		parts = append(parts, fmt.Sprintf("size=%dB", l.SizeBytes))
	}
	return strings.Join(parts, ",")
}
