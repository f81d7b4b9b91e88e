package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file is a tiny protocol buffer reader for the ONNX messages that
// Export writes, independent of the encoder. It rejects fields it does not
// expect, so a stray or misnumbered field fails the tests.

type pField struct {
	num, wire int
	u         uint64 // varint, fixed32 and fixed64 values
	b         []byte // length-delimited payload
}

func pDecode(b []byte) ([]pField, error) {
	var fs []pField
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("bad field key")
		}
		b = b[n:]
		f := pField{num: int(key >> 3), wire: int(key & 7)}
		if f.num == 0 {
			return nil, errors.New("field number 0")
		}
		switch f.wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, fmt.Errorf("field %d: bad varint", f.num)
			}
			f.u, b = v, b[n:]
		case 1:
			if len(b) < 8 {
				return nil, fmt.Errorf("field %d: short fixed64", f.num)
			}
			f.u, b = binary.LittleEndian.Uint64(b), b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return nil, fmt.Errorf("field %d: bad length", f.num)
			}
			f.b, b = b[n:n+int(l)], b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return nil, fmt.Errorf("field %d: short fixed32", f.num)
			}
			f.u, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		default:
			return nil, fmt.Errorf("field %d: wire type %d", f.num, f.wire)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// pInt64s reads a repeated int64 field occurrence, packed or not.
func pInt64s(f pField) ([]int64, error) {
	if f.wire == 0 {
		return []int64{int64(f.u)}, nil
	}
	if f.wire != 2 {
		return nil, fmt.Errorf("field %d: wire type %d for int64", f.num, f.wire)
	}
	var out []int64
	for b := f.b; len(b) > 0; {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("field %d: bad packed varint", f.num)
		}
		out, b = append(out, int64(v)), b[n:]
	}
	return out, nil
}

func want(f pField, wire int) error {
	if f.wire != wire {
		return fmt.Errorf("field %d: wire type %d, want %d", f.num, f.wire, wire)
	}
	return nil
}

type pModel struct {
	IRVersion int64
	Producer  string
	Opsets    map[string]int64
	Graph     pGraph
	Meta      map[string]string
}

type pGraph struct {
	Name            string
	Nodes           []pNode
	Inits           []pTensor
	Inputs, Outputs []pValue
}

type pNode struct {
	Name, Op, Domain string
	In, Out          []string
	Attrs            map[string]pAttr
}

type pAttr struct {
	Type int64
	F    float32
	I    int64
	Ints []int64
	T    *pTensor
}

type pTensor struct {
	Name string
	Dims []int64
	Type int64
	Raw  []byte
}

type pValue struct {
	Name string
	Elem int64
	Dims []pDim
}

type pDim struct {
	Value int64
	Param string
}

// unexpected reports a field the reader does not know.
func unexpected(msg string, f pField) error {
	return fmt.Errorf("%s: unexpected field %d (wire %d)", msg, f.num, f.wire)
}

func parseModel(b []byte) (*pModel, error) {
	fs, err := pDecode(b)
	if err != nil {
		return nil, err
	}
	m := &pModel{Opsets: map[string]int64{}, Meta: map[string]string{}}
	graphs := 0
	for _, f := range fs {
		switch {
		case f.num == 1 && f.wire == 0:
			m.IRVersion = int64(f.u)
		case f.num == 2 && f.wire == 2:
			m.Producer = string(f.b)
		case f.num == 7 && f.wire == 2:
			graphs++
			if m.Graph, err = parseGraph(f.b); err != nil {
				return nil, fmt.Errorf("graph: %w", err)
			}
		case f.num == 8 && f.wire == 2:
			sub, err := pDecode(f.b)
			if err != nil {
				return nil, err
			}
			var dom string
			var ver int64
			for _, g := range sub {
				switch {
				case g.num == 1 && g.wire == 2:
					dom = string(g.b)
				case g.num == 2 && g.wire == 0:
					ver = int64(g.u)
				default:
					return nil, unexpected("opset_import", g)
				}
			}
			if _, dup := m.Opsets[dom]; dup {
				return nil, fmt.Errorf("opset %q imported twice", dom)
			}
			m.Opsets[dom] = ver
		case f.num == 14 && f.wire == 2:
			sub, err := pDecode(f.b)
			if err != nil {
				return nil, err
			}
			var k, v string
			for _, g := range sub {
				switch {
				case g.num == 1 && g.wire == 2:
					k = string(g.b)
				case g.num == 2 && g.wire == 2:
					v = string(g.b)
				default:
					return nil, unexpected("metadata_props", g)
				}
			}
			m.Meta[k] = v
		default:
			return nil, unexpected("model", f)
		}
	}
	if graphs != 1 {
		return nil, fmt.Errorf("%d graphs", graphs)
	}
	return m, nil
}

func parseGraph(b []byte) (pGraph, error) {
	var g pGraph
	fs, err := pDecode(b)
	if err != nil {
		return g, err
	}
	for _, f := range fs {
		if err := want(f, 2); err != nil {
			return g, err
		}
		switch f.num {
		case 1:
			n, err := parseNode(f.b)
			if err != nil {
				return g, fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			g.Name = string(f.b)
		case 5:
			t, err := parseTensor(f.b)
			if err != nil {
				return g, fmt.Errorf("initializer %d: %w", len(g.Inits), err)
			}
			g.Inits = append(g.Inits, t)
		case 11, 12:
			v, err := parseValue(f.b)
			if err != nil {
				return g, fmt.Errorf("value info: %w", err)
			}
			if f.num == 11 {
				g.Inputs = append(g.Inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		default:
			return g, unexpected("graph", f)
		}
	}
	return g, nil
}

func parseNode(b []byte) (pNode, error) {
	n := pNode{Attrs: map[string]pAttr{}}
	fs, err := pDecode(b)
	if err != nil {
		return n, err
	}
	for _, f := range fs {
		if err := want(f, 2); err != nil {
			return n, err
		}
		switch f.num {
		case 1:
			n.In = append(n.In, string(f.b))
		case 2:
			n.Out = append(n.Out, string(f.b))
		case 3:
			n.Name = string(f.b)
		case 4:
			n.Op = string(f.b)
		case 7:
			n.Domain = string(f.b)
		case 5:
			name, a, err := parseAttr(f.b)
			if err != nil {
				return n, fmt.Errorf("attribute: %w", err)
			}
			if _, dup := n.Attrs[name]; dup {
				return n, fmt.Errorf("attribute %q twice", name)
			}
			n.Attrs[name] = a
		default:
			return n, unexpected("node", f)
		}
	}
	return n, nil
}

func parseAttr(b []byte) (string, pAttr, error) {
	var name string
	var a pAttr
	fs, err := pDecode(b)
	if err != nil {
		return "", a, err
	}
	values, kind := 0, int64(0)
	for _, f := range fs {
		switch {
		case f.num == 1 && f.wire == 2:
			name = string(f.b)
			continue
		case f.num == 20 && f.wire == 0:
			a.Type = int64(f.u)
			continue
		case f.num == 2 && f.wire == 5:
			a.F, kind = math.Float32frombits(uint32(f.u)), attrFloat
		case f.num == 3 && f.wire == 0:
			a.I, kind = int64(f.u), attrInt
		case f.num == 5 && f.wire == 2:
			t, err := parseTensor(f.b)
			if err != nil {
				return "", a, err
			}
			a.T, kind = &t, attrTensor
		case f.num == 8:
			v, err := pInt64s(f)
			if err != nil {
				return "", a, err
			}
			a.Ints = append(a.Ints, v...)
			if kind == attrInts {
				continue // one more element of the same list
			}
			kind = attrInts
		default:
			return "", a, unexpected("attribute", f)
		}
		values++
	}
	if name == "" || values != 1 {
		return "", a, fmt.Errorf("attribute %q has %d value fields", name, values)
	}
	if a.Type != kind {
		return "", a, fmt.Errorf("attribute %q: type %d, want %d", name, a.Type, kind)
	}
	return name, a, nil
}

func parseTensor(b []byte) (pTensor, error) {
	var t pTensor
	fs, err := pDecode(b)
	if err != nil {
		return t, err
	}
	for _, f := range fs {
		switch {
		case f.num == 1:
			v, err := pInt64s(f)
			if err != nil {
				return t, err
			}
			t.Dims = append(t.Dims, v...)
		case f.num == 2 && f.wire == 0:
			t.Type = int64(f.u)
		case f.num == 8 && f.wire == 2:
			t.Name = string(f.b)
		case f.num == 9 && f.wire == 2:
			t.Raw = f.b
		default:
			return t, unexpected("tensor", f)
		}
	}
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	size := map[int64]int64{typeFloat: 4, typeInt64: 8, typeInt8: 1, typeUint8: 1, typeInt32: 4}[t.Type]
	if size == 0 {
		return t, fmt.Errorf("tensor %q: data type %d", t.Name, t.Type)
	}
	if int64(len(t.Raw)) != n*size {
		return t, fmt.Errorf("tensor %q: dims %v want %d bytes of raw data, have %d", t.Name, t.Dims, n*size, len(t.Raw))
	}
	return t, nil
}

func parseValue(b []byte) (pValue, error) {
	var v pValue
	fs, err := pDecode(b)
	if err != nil {
		return v, err
	}
	for _, f := range fs {
		if err := want(f, 2); err != nil {
			return v, err
		}
		switch f.num {
		case 1:
			v.Name = string(f.b)
		case 2: // TypeProto
			tfs, err := pDecode(f.b)
			if err != nil {
				return v, err
			}
			if len(tfs) != 1 || tfs[0].num != 1 || tfs[0].wire != 2 {
				return v, errors.New("TypeProto is not one tensor_type")
			}
			ttf, err := pDecode(tfs[0].b)
			if err != nil {
				return v, err
			}
			for _, g := range ttf {
				switch {
				case g.num == 1 && g.wire == 0:
					v.Elem = int64(g.u)
				case g.num == 2 && g.wire == 2:
					dims, err := pDecode(g.b)
					if err != nil {
						return v, err
					}
					for _, d := range dims {
						if d.num != 1 || d.wire != 2 {
							return v, unexpected("shape", d)
						}
						dfs, err := pDecode(d.b)
						if err != nil {
							return v, err
						}
						if len(dfs) != 1 {
							return v, fmt.Errorf("dimension with %d fields", len(dfs))
						}
						switch x := dfs[0]; {
						case x.num == 1 && x.wire == 0:
							v.Dims = append(v.Dims, pDim{Value: int64(x.u)})
						case x.num == 2 && x.wire == 2:
							v.Dims = append(v.Dims, pDim{Param: string(x.b)})
						default:
							return v, unexpected("dimension", x)
						}
					}
				default:
					return v, unexpected("tensor type", g)
				}
			}
		default:
			return v, unexpected("value info", f)
		}
	}
	return v, nil
}

// floats returns a float tensor's values.
func (t *pTensor) floats() []float32 {
	out := make([]float32, len(t.Raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return out
}

// ints returns the values of an INT8, UINT8 or INT32 tensor.
func (t *pTensor) ints() []int64 {
	switch t.Type {
	case typeInt8:
		out := make([]int64, len(t.Raw))
		for i, b := range t.Raw {
			out[i] = int64(int8(b))
		}
		return out
	case typeUint8:
		out := make([]int64, len(t.Raw))
		for i, b := range t.Raw {
			out[i] = int64(b)
		}
		return out
	}
	out := make([]int64, len(t.Raw)/4)
	for i := range out {
		out[i] = int64(int32(binary.LittleEndian.Uint32(t.Raw[4*i:])))
	}
	return out
}

// int64s returns an int64 tensor's values.
func (t *pTensor) int64s() []int64 {
	out := make([]int64, len(t.Raw)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Raw[8*i:]))
	}
	return out
}
