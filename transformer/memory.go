package transformer

// RuntimeBytes is the number of bytes m's weights occupy in memory now: every
// parameter tensor in its storage form (4 bytes per float32 or
// half-precision value, the exact quantized bytes of int8 and int4
// weights, see qgemm's Bytes) plus, once prepared, the packed float32
// copies the kernels read (quantized weights are read in place; layers
// sharing weights are prepared once).
func (m *Model) RuntimeBytes() int64 {
	var n int64
	m.slots(func(s *slot) {
		switch {
		case s.f != nil:
			n += 4 * int64(len(*s.f))
		case s.q != nil && *s.q != nil:
			n += int64((*s.q).Bytes())
		case s.t != nil && *s.t != nil:
			n += int64((*s.t).Bytes())
		}
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.prep; p != nil {
		n += p.bytes
	}
	return n
}
