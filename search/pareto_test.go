package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/evaluator"
)

// inclusionExclusion is the brute-force hypervolume: the measure of the
// union of the boxes [p, ref) summed over every non-empty subset.
func inclusionExclusion(pts []Point, ref Point) float64 {
	n := len(pts)
	total := 0.0
	for mask := 1; mask < 1<<n; mask++ {
		var corner Point
		bits := 0
		for i := range n {
			if mask&(1<<i) != 0 {
				bits++
				for d := range 3 {
					if bits == 1 || pts[i][d] > corner[d] {
						corner[d] = pts[i][d]
					}
				}
			}
		}
		vol := 1.0
		for d := range 3 {
			vol *= math.Max(0, ref[d]-corner[d])
		}
		if bits%2 == 1 {
			total += vol
		} else {
			total -= vol
		}
	}
	return total
}

func TestHypervolumeMatchesInclusionExclusion(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ref := Point{0, 1, 1}
	for trial := range 300 {
		n := 1 + r.IntN(10)
		pts := make([]Point, n)
		for i := range pts {
			// Some points fall outside the reference box on some axis.
			pts[i] = Point{-r.Float64()*1.1 + 0.05, r.Float64() * 1.2, r.Float64() * 1.2}
			if i > 0 && r.IntN(5) == 0 {
				pts[i] = pts[r.IntN(i)] // duplicates
			}
			if r.IntN(6) == 0 {
				pts[i][r.IntN(3)] = pts[0][0] // shared coordinates
			}
		}
		clipped := make([]Point, n)
		for i, p := range pts {
			for d := range 3 {
				clipped[i][d] = math.Min(p[d], ref[d])
			}
		}
		want := inclusionExclusion(clipped, ref)
		if got := Hypervolume(pts, ref); math.Abs(got-want) > 1e-9 {
			t.Fatalf("trial %d: %v: hypervolume %v, inclusion–exclusion %v", trial, pts, got, want)
		}
	}
}

func TestHypervolumeGridCount(t *testing.T) {
	// Integer points: the hypervolume is the number of unit cells some
	// point dominates, which we count cell by cell.
	r := rand.New(rand.NewPCG(3, 4))
	const side = 8
	ref := Point{side, side, side}
	for trial := range 100 {
		pts := make([]Point, 1+r.IntN(25))
		for i := range pts {
			pts[i] = Point{float64(r.IntN(side + 2)), float64(r.IntN(side + 2)), float64(r.IntN(side + 2))}
		}
		cells := 0
		for x := range side {
			for y := range side {
				for z := range side {
					for _, p := range pts {
						if p[0] <= float64(x) && p[1] <= float64(y) && p[2] <= float64(z) {
							cells++
							break
						}
					}
				}
			}
		}
		if got := Hypervolume(pts, ref); got != float64(cells) {
			t.Fatalf("trial %d: hypervolume %v, %d cells", trial, got, cells)
		}
	}
}

func TestHypervolumeEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		pts  []Point
		want float64
	}{
		{"empty", nil, 0},
		{"one", []Point{{-0.5, 0.5, 0.5}}, 0.125},
		{"on the reference", []Point{{0, 0.5, 0.5}, {-0.5, 1, 0.5}}, 0},
		{"dominated adds nothing", []Point{{-0.5, 0.5, 0.5}, {-0.4, 0.6, 0.6}}, 0.125},
		{"duplicates", []Point{{-0.5, 0.5, 0.5}, {-0.5, 0.5, 0.5}}, 0.125},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Hypervolume(tc.pts, Point{0, 1, 1}); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func cand(key string, acc float64, lat time.Duration, size int64, feasible bool) Candidate {
	return Candidate{Key: key, Result: evaluator.Result{Key: key, Accuracy: acc, Latency: devices.Measurement{Stats: devices.Stats{Median: lat}}, SizeBytes: size}, Score: Score{Feasible: feasible}}
}

func TestArchiveFrontMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		a := NewArchive()
		var all []Candidate
		for i := range 1 + r.IntN(40) {
			c := cand(string(rune('A'+i%26))+string(rune('a'+i/26)), float64(r.IntN(5))/4, time.Duration(1+r.IntN(5))*time.Millisecond, int64(1+r.IntN(5)), r.IntN(5) > 0)
			if i > 0 && r.IntN(8) == 0 {
				c = all[r.IntN(len(all))] // the same key again: ignored
			}
			added, _ := a.Insert(c)
			if exists := slices.ContainsFunc(all, func(x Candidate) bool { return x.Key == c.Key }); added == exists {
				t.Fatalf("trial %d: Insert(%s) added=%v with exists=%v", trial, c.Key, added, exists)
			}
			if added {
				all = append(all, c)
			}
		}
		var want []Candidate
		for _, c := range all {
			if !c.Feasible {
				continue
			}
			dominated := false
			for _, d := range all {
				if d.Feasible && d.objectives().Dominates(c.objectives()) {
					dominated = true
				}
			}
			if !dominated {
				want = append(want, c)
			}
		}
		sortFront(want)
		got := a.Front()
		if !slices.EqualFunc(got, want, func(x, y Candidate) bool { return x.Key == y.Key }) {
			t.Fatalf("trial %d: front %v, want %v", trial, keys(got), keys(want))
		}
		if a.Len() != len(all) || a.FrontSize() != len(want) {
			t.Fatalf("trial %d: Len %d FrontSize %d", trial, a.Len(), a.FrontSize())
		}
	}
}

func keys(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Key
	}
	return out
}

func TestArchiveHypervolumeNormalizes(t *testing.T) {
	a := NewArchive()
	a.Insert(cand("a", 0.8, 5*time.Millisecond, 50, true))
	a.Insert(cand("b", 0.9, 20*time.Millisecond, 10, true)) // outside on latency
	a.Insert(cand("c", 0.95, 1*time.Millisecond, 1, false)) // infeasible
	ref := Reference{Latency: 10 * time.Millisecond, SizeBytes: 100}
	if got, want := a.Hypervolume(ref), 0.8*0.5*0.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("hypervolume %v, want %v", got, want)
	}
	if got := a.Hypervolume(Reference{}); got != 0 {
		t.Errorf("zero reference: %v", got)
	}
}

func BenchmarkArchiveInsert(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	cs := make([]Candidate, 1000)
	for i := range cs {
		acc := r.Float64()
		// Trade-off so a good share is on the front.
		cs[i] = cand(fmt.Sprint(i), acc, time.Duration((acc+0.2*r.Float64())*1e7), int64((acc+0.2*r.Float64())*1e8), true)
	}
	for b.Loop() {
		a := NewArchive()
		for _, c := range cs {
			a.Insert(c)
		}
	}
}

func BenchmarkHypervolume(b *testing.B) {
	for _, n := range []int{50, 200} {
		r := rand.New(rand.NewPCG(9, 10))
		pts := make([]Point, n)
		for i := range pts {
			// Points on a sphere octant: all mutually non-dominated.
			x, y := r.Float64(), r.Float64()
			z := math.Sqrt(math.Max(0, 1-x*x-y*y))
			pts[i] = Point{-z, x, y}
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				Hypervolume(pts, Point{0, 1, 1})
			}
		})
	}
}
