package transformer

import "github.com/edgenas/edgenas/internal/gemm"

// RuntimeBytes is the number of bytes m's weights occupy in memory now: every
// parameter tensor plus, once prepared, the packed copies the kernels read.
func (m *Model) RuntimeBytes() int64 {
	n := 4 * int64(m.NumParams())
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.prep; p != nil {
		for _, l := range p.layers {
			n += int64(l.qkv.Bytes()+l.attnOut.Bytes()+l.inter.Bytes()+l.out.Bytes()) + 4*int64(len(l.qkvBias))
		}
		for _, q := range []*gemm.Packed{p.pooler, p.classifier} {
			if q != nil {
				n += int64(q.Bytes())
			}
		}
	}
	return n
}
