package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/onnx"
)

// demoSentences are the texts the demo runs through the engine.
var demoSentences = []string{
	"the film is not bad at all, and the acting is superb.",
	"a dull, lifeless script.",
	"I expected more; still, it's worth seeing once!",
}

// demoVocab builds a small WordPiece vocabulary that covers any ASCII text:
// the special tokens, every printable ASCII character as a word start and
// as a "##" continuation, and the whole words of the demo sentences.
func demoVocab() []string {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			vocab = append(vocab, s)
		}
	}
	for c := byte('!'); c <= '~'; c++ {
		if c >= 'A' && c <= 'Z' {
			continue // the tokenizer lower-cases
		}
		add(string(c))
		add("##" + string(c))
	}
	for _, s := range demoSentences {
		for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !(r >= 'a' && r <= 'z')
		}) {
			add(w)
		}
	}
	return vocab
}

// runDemo exercises the engine end to end on built-in defaults: it builds a
// random-weight model, saves and reloads it, runs it on text, exports ONNX
// and times the forward pass. Training (and so meaningful outputs) and the
// search come with later subcommands.
func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	out := fs.String("out", filepath.Join("runs", "demo"), "run directory")
	shape := fs.String("shape", "tiny", "model shape: tiny, mini, small or base")
	vocab := fs.String("vocab", defaultVocab(), "vocab.txt or tokenizer.json (default: the BERT uncased vocabulary under $EDGENAS_TESTDATA if present, else a built-in demo vocabulary)")
	seq := fs.Int("seq", 128, "sequence length for the latency measurement")
	runs := fs.Int("runs", 15, "timed runs (at least 7)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *runs < 7 || *seq < 1 {
		return fmt.Errorf("%w: want -runs ≥ 7 and -seq ≥ 1", errUsage)
	}
	tok, source, err := loadTokenizer(*vocab)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tokenizer: %s (%d tokens)\n", source, tok.VocabSize())

	m, err := randomModel(*shape, tok.VocabSize(), 1, 0.02)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "model: %s-shaped BERT with RANDOM weights (%d parameters); its outputs are meaningless until a trained teacher is used\n",
		*shape, m.NumParams())

	modelDir := filepath.Join(*out, "model")
	if err := m.Save(modelDir); err != nil {
		return err
	}
	if err := saveVocab(tok, modelDir); err != nil {
		return err
	}
	back, err := transformer.Load(modelDir)
	if err != nil {
		return err
	}
	b := tok.EncodeBatch(demoSentences, nil, m.Config.MaxPositionEmbeddings)
	o1, err := m.Forward(&b)
	if err != nil {
		return err
	}
	o2, err := back.Forward(&b)
	if err != nil {
		return err
	}
	identical := true
	for i := range o1.LastHidden {
		if math.Float32bits(o1.LastHidden[i]) != math.Float32bits(o2.LastHidden[i]) {
			identical = false
			break
		}
	}
	fmt.Fprintf(stdout, "saved %s and read it back: outputs bit-identical = %v\n", modelDir, identical)
	if !identical {
		return fmt.Errorf("model read back from %s gives different outputs", modelDir)
	}
	for i, s := range demoSentences {
		toks := b.Lengths[i]
		fmt.Fprintf(stdout, "  %q: %d tokens, logits %v\n", s, toks, o1.Logits[i*o1.Labels:(i+1)*o1.Labels])
	}

	onnxPath := filepath.Join(*out, "model.onnx")
	if err := onnx.ExportFile(m, onnxPath); err != nil {
		return err
	}
	fi, err := os.Stat(onnxPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s (%d bytes, opset 17)\n", onnxPath, fi.Size())

	st, err := timeForward(m, 1, min(*seq, m.Config.MaxPositionEmbeddings), 3, *runs, 1)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "latency, batch 1, seq %d, 1 thread: %s\n", *seq, st.Stats)
	return nil
}

// defaultVocab is the real BERT uncased vocabulary when the test data is
// present, else "" (the built-in demo vocabulary).
func defaultVocab() string {
	dir := os.Getenv("EDGENAS_TESTDATA")
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, "bert-base-uncased-vocab", "vocab.txt")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
