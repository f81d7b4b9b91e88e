package transformer_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

// Example runs a random-weight BERT-tiny-shaped model over a padded batch of
// two sentences. A real model comes from transformer.Load(dir).
func Example() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "is", "good", "bad", "."}
	tok, err := tokenizer.New(vocab, tokenizer.DefaultOptions())
	if err != nil {
		panic(err)
	}
	cfg, err := transformer.ShapeConfig("tiny", tok.VocabSize())
	if err != nil {
		panic(err)
	}
	m, err := transformer.NewRandom(cfg, rand.New(rand.NewPCG(1, 2)), 0.02)
	if err != nil {
		panic(err)
	}
	b := tok.EncodeBatch([]string{"The film is good.", "Bad."}, nil, 128)
	out, err := m.Forward(&b)
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Size, b.SeqLen, b.Lengths, len(out.LastHidden), len(out.Logits))
	// Output: 2 7 [7 4] 1792 4
}
