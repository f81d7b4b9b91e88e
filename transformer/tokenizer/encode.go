package tokenizer

// Encoding is one encoded sentence or sentence pair, unpadded: "[CLS] A [SEP]"
// or "[CLS] A [SEP] B [SEP]". All four slices have the same length.
type Encoding struct {
	// IDs are the token ids.
	IDs []int32
	// TypeIDs are the token type (segment) ids: 0 for [CLS], A and its
	// [SEP]; 1 for B and the final [SEP].
	TypeIDs []int32
	// Mask is the attention mask: all ones, since an Encoding has no padding.
	Mask []int32
	// Tokens are the vocabulary tokens of IDs.
	Tokens []string
}

// Len returns the number of tokens.
func (e Encoding) Len() int { return len(e.IDs) }

// Encode encodes text, or the pair (text, pair) when pair is not "", as BERT
// input: [CLS] A [SEP] (B [SEP]), type ids 0 for the A part and 1 for the B
// part.
//
// When maxLen > 0 and the result would be longer, the word pieces are cut
// with Hugging Face's "longest_first" strategy (that of its Rust tokenizers,
// which BertTokenizerFast uses): a single sentence keeps its first maxLen-2
// pieces; a pair shares maxLen-3 pieces: the shorter sentence stays whole
// when it needs at most half of them and the longer one gets the rest, else
// each gets half, the originally longer one getting the odd piece. The special
// tokens always stay, so a maxLen smaller than their count (2, or 3 for a
// pair) gives just the special tokens. maxLen <= 0 means no truncation.
func (t *Tokenizer) Encode(text string, pair string, maxLen int) Encoding {
	a := t.appendIDs(nil, text)
	var b []int32
	isPair := pair != ""
	specials := 2
	if isPair {
		b = t.appendIDs(nil, pair)
		specials = 3
	}
	if maxLen > 0 {
		a, b = truncateLongestFirst(a, b, max(maxLen-specials, 0))
	}

	n := len(a) + len(b) + specials
	e := Encoding{
		IDs:     make([]int32, 0, n),
		TypeIDs: make([]int32, n),
		Mask:    make([]int32, n),
		Tokens:  make([]string, n),
	}
	e.IDs = append(e.IDs, t.cls)
	e.IDs = append(e.IDs, a...)
	e.IDs = append(e.IDs, t.sep)
	if isPair {
		e.IDs = append(e.IDs, b...)
		e.IDs = append(e.IDs, t.sep)
		for i := len(a) + 2; i < n; i++ {
			e.TypeIDs[i] = 1
		}
	}
	for i, id := range e.IDs {
		e.Mask[i] = 1
		e.Tokens[i] = t.vocab[id]
	}
	return e
}

// truncateLongestFirst cuts a and b (b may be nil) to at most budget pieces in
// total, as the LongestFirst strategy of Hugging Face tokenizers does.
func truncateLongestFirst(a, b []int32, budget int) ([]int32, []int32) {
	if len(a)+len(b) <= budget {
		return a, b
	}
	if b == nil {
		return a[:budget], nil
	}
	n1, n2 := len(a), len(b)
	swap := n1 > n2
	if swap {
		n1, n2 = n2, n1
	}
	// n1 is the shorter length.
	if n1 > budget {
		n2 = n1
	} else {
		n2 = max(n1, budget-n1)
	}
	if n1+n2 > budget {
		n1 = budget / 2
		n2 = n1 + budget%2
	}
	if swap {
		n1, n2 = n2, n1
	}
	return a[:min(n1, len(a))], b[:min(n2, len(b))]
}
