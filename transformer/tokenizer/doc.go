// Package tokenizer is the BERT WordPiece tokenizer of the inference engine: it
// turns text into the token ids, token type ids and attention masks that a
// BERT-like encoder consumes, with the same results as Hugging Face's
// BertTokenizerFast (BertNormalizer + BertPreTokenizer + WordPiece + the
// "[CLS] A [SEP] B [SEP]" template).
//
// The package owns:
//
//   - loading a vocabulary from vocab.txt ([LoadVocab]), from a Hugging Face
//     tokenizer.json ([LoadTokenizerJSON]) or from a model directory ([Load]);
//   - normalization: clean_text (drop NUL, U+FFFD and control, format and
//     private-use characters, map whitespace to a space), spaces around CJK
//     ideographs, accent stripping (NFD, then drop nonspacing marks) and
//     lower-casing;
//   - pre-tokenization: split on whitespace, then every punctuation character
//     becomes a word of its own;
//   - WordPiece: greedy longest-match-first with the "##" continuation prefix;
//     a word that is too long or cannot be covered becomes "[UNK]";
//   - special tokens written in the text ("[MASK]", "[SEP]", ...), which are
//     kept whole as Hugging Face does unless [Options].SplitSpecialTokens is set;
//   - encoding single sentences and pairs with "longest_first" truncation
//     ([Tokenizer.Encode]) and padding them into a [Batch] the model checks
//     with [Batch.Validate].
//
// # Concurrency
//
// A *Tokenizer is immutable once New or a Load function has returned it, so it
// is safe for concurrent use by any number of goroutines. Encoding and Batch
// values are plain data owned by the caller.
//
// # Errors
//
// Loading errors name the file and, where it makes sense, the 1-based line,
// and wrap one of the sentinel errors ([ErrDuplicateToken], [ErrMissingToken],
// [ErrInvalidVocab], [ErrUnsupported], [ErrNoVocab], [ErrInvalidOptions]) so
// callers can test them with errors.Is. No input text makes the tokenizer
// panic; invalid UTF-8 decodes to U+FFFD, which clean_text removes.
//
// # Fidelity
//
// The results are those of Hugging Face tokenizers (the Rust library behind
// BertTokenizerFast) except where its behavior depends on its own tables or
// has changed between versions:
//
//   - Character classes (control, punctuation, nonspacing mark, whitespace)
//     come from Go's Unicode tables (Unicode 15). The Rust library uses
//     older ones, so about 570 code points assigned or re-classified since
//     (mostly nonspacing marks and punctuation of newer scripts) are treated
//     as the current Unicode says.
//   - Unassigned code points are kept (and become [UNK]), as the Rust library
//     does; Python's slow BertTokenizer removes them.
//   - The CJK ranges are the original BERT ones (Python's, including
//     U+2B820..U+2CEAF); the Rust library starts that range at U+2B920.
//   - longest_first truncation is the classic algorithm of tokenizers up to
//     0.22. Version 0.23 stops tokenizing a sequence early at the maximum
//     length, which changes which sequence gets the odd piece when both are
//     longer than the whole maximum length.
package tokenizer
