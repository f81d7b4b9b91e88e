package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgenas/edgenas/devices"
	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/transformer"
	"github.com/edgenas/edgenas/transformer/onnx"
	"github.com/edgenas/edgenas/transformer/tokenizer"
)

func runInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	shape := fs.String("shape", "tiny", "model shape: tiny, mini, small or base")
	out := fs.String("out", "", "output directory (required)")
	vocab := fs.String("vocab", "", "vocab.txt or tokenizer.json to store with the model (default: a vocabulary built from the demo sentences)")
	seed := fs.Uint64("seed", 1, "random seed of the weights")
	std := fs.Float64("std", 0.02, "standard deviation of the random weights (BERT's initializer range)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: -out is required", errUsage)
	}
	if !(*std > 0 && *std <= 1) {
		return fmt.Errorf("%w: -std %v: want a standard deviation in (0, 1]", errUsage, *std)
	}
	tok, _, err := loadTokenizer(*vocab)
	if err != nil {
		return err
	}
	m, err := randomModel(*shape, tok.VocabSize(), *seed, *std)
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	if err := tok.WriteVocab(filepath.Join(*out, tokenizer.VocabFile)); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"model": *out, "shape": *shape, "seed": *seed, "params": m.NumParams(), "random_weights": true})
	}
	fmt.Fprintf(stdout, "wrote %s: %s-shaped model with RANDOM weights (seed %d; for engine tests, not a trained model), %d parameters\n",
		*out, *shape, *seed, m.NumParams())
	return nil
}

// randomModel builds a random-weight model of a standard shape.
func randomModel(shape string, vocabSize int, seed uint64, std float64) (*transformer.Model, error) {
	cfg, err := transformer.ShapeConfig(shape, vocabSize)
	if err != nil {
		return nil, fmt.Errorf("%w: -shape: %v", errUsage, err)
	}
	return transformer.NewRandom(cfg, rand.New(rand.NewPCG(seed, 0x5eed)), std)
}

// loadTokenizer loads vocab.txt / tokenizer.json / a directory; "" means the
// built-in demo vocabulary. The second result describes the source.
func loadTokenizer(path string) (*tokenizer.Tokenizer, string, error) {
	if path == "" {
		tok, err := tokenizer.New(demoVocab(), tokenizer.DefaultOptions())
		return tok, "built-in demo vocabulary", err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	var tok *tokenizer.Tokenizer
	switch {
	case fi.IsDir():
		tok, err = tokenizer.Load(path)
	case strings.HasSuffix(path, ".json"):
		tok, err = tokenizer.LoadTokenizerJSON(path)
	default:
		tok, err = tokenizer.LoadVocab(path, tokenizer.DefaultOptions())
	}
	return tok, path, err
}

func runEncode(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("encode", stderr)
	dir := fs.String("model", "", "model directory: config.json, model.safetensors and vocab.txt or tokenizer.json (required)")
	pair := fs.String("pair", "", "optional second sentence")
	maxLen := fs.Int("max-len", 128, "truncate to this many tokens (at most the model's max_position_embeddings, the default's bound)")
	asJSON := fs.Bool("json", false, "print one JSON object per text")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() == 0 {
		return fmt.Errorf("%w: edgenas encode -model DIR [-pair TEXT] [--json] TEXT...", errUsage)
	}
	if err := flagRange("max-len", *maxLen, 2, maxFlagSeq); err != nil {
		return err
	}
	m, err := transformer.Load(*dir)
	if err != nil {
		return err
	}
	if !flagSet(fs, "max-len") {
		*maxLen = min(*maxLen, m.Config.MaxPositionEmbeddings)
	}
	if err := flagRange("max-len", *maxLen, 2, m.Config.MaxPositionEmbeddings); err != nil {
		return fmt.Errorf("%w (the model's max_position_embeddings)", err)
	}
	tok, err := tokenizer.Load(*dir)
	if err != nil {
		return err
	}
	if err := m.Config.CheckTokenizer(tok.VocabSize()); err != nil {
		return fmt.Errorf("%s: %w", *dir, err)
	}
	texts := fs.Args()
	var pairs []string
	if *pair != "" {
		pairs = make([]string, len(texts))
		for i := range pairs {
			pairs[i] = *pair
		}
	}
	b := tok.EncodeBatch(texts, pairs, *maxLen)
	out, err := m.Forward(&b)
	if err != nil {
		return err
	}
	if p := provenance(m); p != "" && !*asJSON {
		fmt.Fprintf(stdout, "model: %s (%s)\n", *dir, p)
	}
	labels := m.Config.Labels()
	enc := json.NewEncoder(stdout)
	for i, text := range texts {
		ids := b.IDs[i*b.SeqLen : i*b.SeqLen+b.Lengths[i]]
		clsNorm := norm(out.LastHidden[i*b.SeqLen*out.Hidden : (i*b.SeqLen+1)*out.Hidden])
		var probs []float64
		if out.Logits != nil {
			probs = softmax(out.Logits[i*out.Labels : (i+1)*out.Labels])
		}
		if *asJSON {
			p := map[string]float64{}
			for j, v := range probs {
				p[labels[j]] = v
			}
			if err := enc.Encode(map[string]any{"text": text, "ids": ids, "cls_norm": clsNorm, "probabilities": p}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "%q\n  ids: %v\n", text, ids)
		fmt.Fprintf(stdout, "  [CLS] hidden norm: %.4f\n", clsNorm)
		for j, p := range probs {
			fmt.Fprintf(stdout, "  %-12s p=%.4f\n", labels[j], p)
		}
	}
	return nil
}

func provenance(m *transformer.Model) string {
	if e := m.Config.Edgenas; e != nil {
		return e.Provenance
	}
	return ""
}

func norm(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func softmax(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	out := make([]float64, len(logits))
	sum := 0.0
	for i, v := range logits {
		out[i] = math.Exp(float64(v) - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func runExportONNX(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export-onnx", stderr)
	dir := fs.String("model", "", "model directory (required)")
	out := fs.String("out", "", "output .onnx file (default: DIR/model.onnx)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: -model is required", errUsage)
	}
	if *out == "" {
		*out = filepath.Join(*dir, "model.onnx")
	}
	m, err := transformer.Load(*dir)
	if err != nil {
		return err
	}
	if err := onnx.ExportFile(m, *out); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"onnx": *out, "opset": 17})
	}
	fmt.Fprintf(stdout, "wrote %s (opset 17)\n", *out)
	return nil
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	dir := fs.String("model", "", "model directory (default: a random-weight model of -shape)")
	shape := fs.String("shape", "mini", "shape of the random-weight model when -model is not given")
	batch := fs.Int("batch", 1, "batch size")
	seq := fs.Int("seq", 128, "sequence length")
	warmup := fs.Int("warmup", 3, "untimed warm-up runs")
	runs := fs.Int("runs", 15, "timed runs (at least 7)")
	threads := fs.Int("threads", 1, "intra-op threads")
	asJSON := fs.Bool("json", false, "print the measurement as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := errors.Join(
		flagRange("runs", *runs, devices.MinRuns, devices.MaxRuns),
		flagRange("warmup", *warmup, 1, devices.MaxWarmup),
		flagRange("batch", *batch, 1, devices.MaxBatch),
		flagRange("seq", *seq, 1, maxFlagSeq),
		flagRange("threads", *threads, 1, devices.MaxThreads),
	); err != nil {
		return err
	}
	var m *transformer.Model
	var err error
	what := *dir
	if *dir != "" {
		m, err = transformer.Load(*dir)
	} else {
		m, err = randomModel(*shape, 30522, 1, 0.02)
		what = *shape + "-shaped random-weight model"
	}
	if err != nil {
		return err
	}
	if err := flagRange("seq", *seq, 1, m.Config.MaxPositionEmbeddings); err != nil {
		return fmt.Errorf("%w (the model's max_position_embeddings)", err)
	}
	w := devices.Workload{Batch: *batch, SeqLen: *seq, Warmup: *warmup, Runs: *runs, Threads: *threads}
	st, device, err := timeForward(m, w)
	if err != nil {
		return err
	}
	gflops := float64(m.FLOPs(*batch, *seq)) / st.Median.Seconds() / 1e9
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"model": what, "workload": w, "measurement": st, "gflops": gflops, "device": device})
	}
	fmt.Fprintf(stdout, "%s, batch %d, seq %d, %d thread(s): %s\n", what, *batch, *seq, *threads, st.Stats)
	if st.Unstable {
		fmt.Fprintf(stdout, "  unstable: the spread stayed above 5%% in %d attempts; the machine is busy\n", st.Attempts)
	}
	fmt.Fprintf(stdout, "  peak memory of one forward pass: %.1f MiB\n", float64(st.PeakBytes)/(1<<20))
	fmt.Fprintf(stdout, "  %.2f GFLOP/s (matrix products only)\n", gflops)
	fmt.Fprintf(stdout, "  device: %s\n", device)
	return nil
}

// maxFlagSeq bounds the sequence length flags before a model says more.
const maxFlagSeq = 1 << 16

// flagRange checks that the integer flag -name is in [lo, hi]; otherwise
// the error, wrapping errUsage, names the flag and the range.
func flagRange(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%w: -%s %d: want an integer in [%d, %d]", errUsage, name, v, lo, hi)
	}
	return nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// timeForward measures m's forward latency on w with the local device (no
// drift reference: a single measurement has nothing to drift from) and
// returns the device's fingerprint (CPU, vector extensions, engine) with it.
func timeForward(m *transformer.Model, w devices.Workload) (devices.Measurement, string, error) {
	d, err := local.New(local.Config{NoReference: true})
	if err != nil {
		return devices.Measurement{}, "", err
	}
	fp, err := d.Fingerprint(context.Background())
	if err != nil {
		return devices.Measurement{}, "", err
	}
	st, err := d.Measure(context.Background(), m, w)
	return st, fp, err
}

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
