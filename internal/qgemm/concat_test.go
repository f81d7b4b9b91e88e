package qgemm

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestConcat checks that a Mul by ConcatInt8's or ConcatInt4's weight
// equals the separate Muls by its parts bit for bit, on every kernel, with
// one and two threads and with few rows and enough for AMX's int4 path, for
// parts that start on a panel boundary (copied whole) and parts that do
// not (copied value by value), and that its raw values and scales are the
// parts' in order.
func TestConcat(t *testing.T) {
	for _, kind := range []struct {
		name     string
		quantize func(w []float32, out, in int) (Weights, raw)
		concat   func(ws []Weights) (Weights, raw, error)
	}{
		{"int8", func(w []float32, out, in int) (Weights, raw) {
			q, err := QuantizeInt8(w, out, in)
			if err != nil {
				t.Fatal(err)
			}
			return q, int8Raw(q)
		}, func(ws []Weights) (Weights, raw, error) {
			c, err := ConcatInt8(typed[*Int8](ws)...)
			if err != nil {
				return nil, raw{}, err
			}
			return c, int8Raw(c), nil
		}},
		{"int4-group32", func(w []float32, out, in int) (Weights, raw) {
			q, err := QuantizeInt4(w, out, in, 32)
			if err != nil {
				t.Fatal(err)
			}
			return q, int4Raw(q)
		}, func(ws []Weights) (Weights, raw, error) {
			c, err := ConcatInt4(typed[*Int4](ws)...)
			if err != nil {
				return nil, raw{}, err
			}
			return c, int4Raw(c), nil
		}},
	} {
		for _, tc := range []struct {
			name string
			outs []int
			in   int
		}{
			{"aligned-qkv", []int{64, 64, 64}, 96},
			{"aligned-then-ragged", []int{32, 5, 40}, 70},
			{"ragged", []int{5, 33, 7}, 13},
			{"single", []int{45}, 9},
		} {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(len(tc.outs)), uint64(tc.in)))
				var parts []Weights
				var want raw
				total := 0
				for _, out := range tc.outs {
					w, r := kind.quantize(randSlice(rng, out*tc.in, 0.1), out, tc.in)
					want.q, want.s = append(want.q, r.q...), append(want.s, r.s...)
					parts = append(parts, w)
					total += out
				}
				c, got, err := kind.concat(parts)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.q, want.q) || !slices.Equal(got.s, want.s) {
					t.Fatal("raw values or scales differ from the parts'")
				}
				for _, m := range []int{17, 2 * amxRows} {
					x := randSlice(rng, m*tc.in, 1)
					bias := randSlice(rng, total, 1)
					for kname, k := range kernels() {
						for _, threads := range []int{1, 2} {
							withKernel(k, func() {
								ws := Workspace{Threads: threads}
								got := make([]float32, m*total)
								ws.Mul(m, x, tc.in, c, bias, got, total)
								want := make([]float32, m*total)
								n0 := 0
								for _, p := range parts {
									ws.Mul(m, x, tc.in, p, bias[n0:n0+p.Out()], want[n0:], total)
									n0 += p.Out()
								}
								for i := range got {
									if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
										t.Fatalf("%s, %d rows, %d threads: c[%d] = %v, separate products give %v", kname, m, threads, i, got[i], want[i])
									}
								}
							})
						}
					}
				}
			})
		}
	}
}

// typed converts ws to their concrete type W.
func typed[W Weights](ws []Weights) []W {
	out := make([]W, len(ws))
	for i, w := range ws {
		out[i] = w.(W)
	}
	return out
}

// raw is a weight's stored values (as bytes) and scales.
type raw struct {
	q []byte
	s []float32
}

// int8Raw and int4Raw return a weight's raw form.
func int8Raw(w *Int8) (r raw) {
	q, _, s, _ := w.Raw()
	for _, v := range q {
		r.q = append(r.q, byte(v))
	}
	r.s = s
	return r
}

func int4Raw(w *Int4) (r raw) {
	r.q, _, r.s, _ = w.Raw()
	return r
}

func TestConcatErrors(t *testing.T) {
	a, err := QuantizeInt8(make([]float32, 4*8), 4, 8)
	if err != nil {
		t.Fatal(err)
	}
	b, err := QuantizeInt8(make([]float32, 4*6), 4, 6)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ws   []*Int8
	}{
		{"none", nil},
		{"different-in", []*Int8{a, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ConcatInt8(tc.ws...); !errors.Is(err, ErrShape) {
				t.Fatalf("err = %v, want ErrShape", err)
			}
		})
	}
	t.Run("int4-different-group", func(t *testing.T) {
		a, err := QuantizeInt4(make([]float32, 4*64), 4, 64, 32)
		if err != nil {
			t.Fatal(err)
		}
		b, err := QuantizeInt4(make([]float32, 4*64), 4, 64, 64)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ConcatInt4(a, b); !errors.Is(err, ErrGroup) {
			t.Fatalf("err = %v, want ErrGroup", err)
		}
	})
}
