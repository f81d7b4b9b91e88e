package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNewBatch(t *testing.T) {
	encs := []Encoding{
		{IDs: []int32{2, 29, 3}, TypeIDs: []int32{0, 0, 0}, Mask: []int32{1, 1, 1}},
		{IDs: []int32{2, 29, 3, 30, 3}, TypeIDs: []int32{0, 0, 0, 1, 1}, Mask: []int32{1, 1, 1, 1, 1}},
		{IDs: []int32{2, 3}}, // no TypeIDs or Mask: type 0, mask 1
	}
	b := NewBatch(encs, 7)
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Batch{
		Size:   3,
		SeqLen: 5,
		IDs: []int32{
			2, 29, 3, 7, 7,
			2, 29, 3, 30, 3,
			2, 3, 7, 7, 7,
		},
		TypeIDs: []int32{
			0, 0, 0, 0, 0,
			0, 0, 0, 1, 1,
			0, 0, 0, 0, 0,
		},
		Mask: []int32{
			1, 1, 1, 0, 0,
			1, 1, 1, 1, 1,
			1, 1, 0, 0, 0,
		},
		Lengths: []int{3, 5, 2},
	}
	if b.Size != want.Size || b.SeqLen != want.SeqLen || !slices.Equal(b.IDs, want.IDs) ||
		!slices.Equal(b.TypeIDs, want.TypeIDs) || !slices.Equal(b.Mask, want.Mask) || !slices.Equal(b.Lengths, want.Lengths) {
		t.Errorf("NewBatch =\n%+v\nwant\n%+v", b, want)
	}
	ids, types, mask := b.Row(1)
	if !slices.Equal(ids, encs[1].IDs) || !slices.Equal(types, encs[1].TypeIDs) || !slices.Equal(mask, encs[1].Mask) {
		t.Errorf("Row(1) = %v %v %v", ids, types, mask)
	}
}

func TestBatchValidate(t *testing.T) {
	good := func() Batch {
		return NewBatch([]Encoding{
			{IDs: []int32{2, 29, 3}, TypeIDs: []int32{0, 0, 0}},
			{IDs: []int32{2, 29, 3, 30, 3}, TypeIDs: []int32{0, 0, 0, 1, 1}},
		}, 0)
	}
	for _, c := range []struct {
		name    string
		mutate  func(b *Batch)
		wantMsg string // "" = valid
	}{
		{"valid", func(b *Batch) {}, ""},
		{"padded past the longest row", func(b *Batch) {
			*b = NewBatch([]Encoding{{IDs: []int32{2, 3}}, {IDs: []int32{2, 5, 3}}}, 0)
			b.SeqLen = 4
			b.IDs = []int32{2, 3, 0, 0, 2, 5, 3, 0}
			b.TypeIDs = make([]int32, 8)
			b.Mask = []int32{1, 1, 0, 0, 1, 1, 1, 0}
		}, ""},
		{"empty", func(b *Batch) { *b = Batch{} }, "size 0: a batch needs at least one row"},
		{"NewBatch of nothing", func(b *Batch) { *b = NewBatch(nil, 0) }, "size 0"},
		{"zero sequence length", func(b *Batch) { *b = NewBatch([]Encoding{{}}, 0) }, "sequence length 0"},
		{"short IDs", func(b *Batch) { b.IDs = b.IDs[:9] }, "IDs has 9 values, want size 2 x sequence length 5 = 10"},
		{"short Mask", func(b *Batch) { b.Mask = nil }, "Mask has 0 values"},
		{"short Lengths", func(b *Batch) { b.Lengths = b.Lengths[:1] }, "Lengths has 1 values, want size 2"},
		{"length too long", func(b *Batch) { b.Lengths[0] = 6 }, "row 0: length 6 not in 1..5"},
		{"length zero", func(b *Batch) { b.Lengths[1] = 0 }, "row 1: length 0 not in 1..5"},
		{"mask on padding", func(b *Batch) { b.Mask[3] = 1 }, "row 0 position 3: mask 1, want 0"},
		{"mask off a token", func(b *Batch) { b.Mask[7] = 0 }, "row 1 position 2: mask 0, want 1"},
		{"mask not 0/1", func(b *Batch) { b.Mask[0] = 2 }, "row 0 position 0: mask 2, want 1"},
		{"negative id", func(b *Batch) { b.IDs[6] = -1 }, "row 1 position 1: negative id -1"},
		{"negative type id", func(b *Batch) { b.TypeIDs[1] = -1 }, "row 0 position 1: type id -1"},
		{"type id on padding", func(b *Batch) { b.TypeIDs[4] = 1 }, "row 0 position 4: type id 1 (padding must be 0)"},
		{"many problems", func(b *Batch) {
			for i := range b.Mask {
				b.Mask[i] = 5
			}
		}, "further problems not listed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := good()
			c.mutate(&b)
			err := b.Validate()
			if c.wantMsg == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidBatch) || !strings.Contains(fmtErr(err), c.wantMsg) {
				t.Errorf("Validate: %v; want ErrInvalidBatch containing %q", err, c.wantMsg)
			}
		})
	}
}

func TestEncodeBatchSmallVocab(t *testing.T) {
	tk := newSmall(t, DefaultOptions())
	b := tk.EncodeBatch([]string{"hello world", "i love it!", ""}, []string{"", "the movie", ""}, 0)
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	// Rows: [CLS] hello world [SEP] (4); [CLS] i love it ! [SEP] the movie
	// [SEP] (9); [CLS] [SEP] (2). Padded with [PAD] = 0 to 9.
	wantIDs := []int32{
		2, 29, 30, 3, 0, 0, 0, 0, 0,
		2, 31, 32, 33, 9, 3, 5, 6, 3,
		2, 3, 0, 0, 0, 0, 0, 0, 0,
	}
	wantTypes := []int32{
		0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 1, 1, 1,
		0, 0, 0, 0, 0, 0, 0, 0, 0,
	}
	if b.SeqLen != 9 || !slices.Equal(b.Lengths, []int{4, 9, 2}) || !slices.Equal(b.IDs, wantIDs) || !slices.Equal(b.TypeIDs, wantTypes) {
		t.Errorf("EncodeBatch = %+v", b)
	}
	if empty := tk.EncodeBatch(nil, nil, 0); empty.Size != 0 || empty.Validate() == nil {
		t.Errorf("EncodeBatch(nil) = %+v, Validate %v", empty, empty.Validate())
	}
}
