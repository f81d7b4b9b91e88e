package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/edgenas/edgenas/transformer/tokenizer"
)

func ExampleNew() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "great", "!", "play", "##ing"}
	tk, err := tokenizer.New(vocab, tokenizer.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tk.Tokenize("The movie was GREAT!"))
	fmt.Println(tk.Tokenize("playing [MASK] xyz"))
	// Output:
	// [the movie was great !]
	// [play ##ing [MASK] [UNK]]
}

func ExampleTokenizer_Encode() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "movie", "was", "great", "!"}
	tk, err := tokenizer.New(vocab, tokenizer.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	e := tk.Encode("The movie", "was great!", 0)
	fmt.Println(e.Tokens)
	fmt.Println(e.IDs, e.TypeIDs)
	// Truncated to 6 tokens (3 pieces), longest first: the 3 pieces are
	// shared, the longer B getting the odd one.
	fmt.Println(tk.Encode("The movie", "was great!", 6).Tokens)
	// Output:
	// [[CLS] the movie [SEP] was great ! [SEP]]
	// [2 4 5 3 6 7 8 3] [0 0 0 0 1 1 1 1]
	// [[CLS] the [SEP] was great [SEP]]
}

func ExampleTokenizer_EncodeBatch() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "movie", "was", "great", "!"}
	tk, err := tokenizer.New(vocab, tokenizer.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	b := tk.EncodeBatch([]string{"the movie was great!", "great"}, nil, 128)
	if err := b.Validate(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.Size, b.SeqLen, b.Lengths)
	for i := range b.Size {
		ids, _, mask := b.Row(i)
		fmt.Println(ids, mask)
	}
	// Output:
	// 2 7 [7 3]
	// [2 4 5 6 7 8 3] [1 1 1 1 1 1 1]
	// [2 7 3 0 0 0 0] [1 1 1 0 0 0 0]
}
