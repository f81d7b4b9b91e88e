package demotask

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Example is one labeled sentence.
type Example struct {
	// Text is lower-case tokens joined by single spaces; it never contains a
	// tab or a line break.
	Text string
	// Label is 0 (negative) or 1 (positive); see [Labels].
	Label int
	// Kind is the construction the sentence was generated from.
	Kind Kind
}

// Labels returns the label names indexed by Example.Label:
// {"negative", "positive"}.
func Labels() []string { return []string{"negative", "positive"} }

// PCG stream constants: the dev split, the train split and the bag-of-words
// shuffling each draw from their own stream of the seed.
const (
	devStream   = 0x6465762d73706c74 // "dev-splt"
	trainStream = 0x747261696e2d7370 // "train-sp"
	bowStream   = 0x626f772d73676400 // "bow-sgd"
)

// maxAttempts bounds the draws for one example before Generate gives up with
// ErrExhausted.
const maxAttempts = 10000

// Generate returns the train and dev splits that cfg describes (zero fields
// mean the defaults of [Default]). The result is a deterministic function of
// cfg: the same Config gives the same examples in the same order on every
// platform. Every text is distinct, within and across the splits; a split of
// n examples has ⌈n/2⌉ negative and ⌊n/2⌋ positive ones, in random order, and
// each construction ([Kind]) in it is balanced to within one example; the
// label of every example is the one [Label] computes from its text.
func Generate(cfg Config) (train, dev []Example, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	g := newGenerator(cfg)
	seen := make(map[string]struct{}, cfg.Train+cfg.Dev)
	// Dev first, from its own stream, so it does not depend on Train.
	dev, err = g.split(rand.New(rand.NewPCG(cfg.Seed, devStream)), cfg.Dev, seen)
	if err != nil {
		return nil, nil, fmt.Errorf("demotask: dev split: %w", err)
	}
	train, err = g.split(rand.New(rand.NewPCG(cfg.Seed, trainStream)), cfg.Train, seen)
	if err != nil {
		return nil, nil, fmt.Errorf("demotask: train split: %w", err)
	}
	return train, dev, nil
}

type generator struct {
	maxWords int
	cum      [numKinds]float64 // cumulative normalized weights of the kinds
}

func newGenerator(cfg Config) *generator {
	g := &generator{maxWords: cfg.MaxWords}
	sum := 0.0
	for k := range numKinds {
		sum += cfg.Mix[k]
	}
	acc := 0.0
	for k := range numKinds {
		acc += cfg.Mix[k] / sum
		g.cum[k] = acc
	}
	return g
}

func (g *generator) pickKind(r *rand.Rand) Kind {
	x := r.Float64()
	last := KindSimple
	for k := range numKinds {
		if g.cum[k] == 0 || (k > 0 && g.cum[k] == g.cum[k-1]) {
			continue // weight 0
		}
		last = k
		if x < g.cum[k] {
			return k
		}
	}
	return last // rounding left x above the last sum
}

// split draws n distinct examples not in seen (and adds them to it), then
// shuffles them. The kinds are drawn first; within each kind the wanted
// labels alternate, so every kind is balanced to within one example, and the
// odd one out of each kind with an odd count alternates between the labels
// across kinds, so the split has exactly ⌈n/2⌉ negative examples.
func (g *generator) split(r *rand.Rand, n int, seen map[string]struct{}) ([]Example, error) {
	kinds := make([]Kind, n)
	var count [numKinds]int
	for i := range kinds {
		kinds[i] = g.pickKind(r)
		count[kinds[i]]++
	}
	var odd [numKinds]int // label of the odd one out of each kind
	next := 0
	for k := range numKinds {
		if count[k]%2 == 1 {
			odd[k], next = next, 1-next
		}
	}
	var seenKind [numKinds]int
	out := make([]Example, 0, n)
	for i, kind := range kinds {
		want := (seenKind[kind] + odd[kind]) % 2
		seenKind[kind]++
		ok := false
		for range maxAttempts {
			s := sample(r, kind, want)
			if len(s.toks) > g.maxWords {
				continue
			}
			text := strings.Join(s.toks, " ")
			if _, dup := seen[text]; dup {
				continue
			}
			seen[text] = struct{}{}
			out = append(out, Example{Text: text, Label: s.label, Kind: kind})
			ok = true
			break
		}
		if !ok {
			return nil, fmt.Errorf("example %d of %d (%s): %w", i+1, n, kind, ErrExhausted)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// sentence is a token sequence with the label the generator built it for.
type sentence struct {
	toks  []string
	label int
}

// sample draws a sentence of the given kind with label want.
func sample(r *rand.Rand, kind Kind, want int) sentence {
	switch kind {
	case KindSimple:
		return simpleSentence(r, want)
	case KindNegation:
		return negationSentence(r, want)
	}
	var twins [2]sentence
	switch kind {
	case KindComparative:
		twins = comparativeTwins(r)
	case KindNotBut:
		twins = notButTwins(r)
	case KindContrast:
		twins = contrastTwins(r)
	case KindConcession:
		twins = concessionTwins(r)
	default:
		panic(fmt.Sprintf("demotask: unknown kind %d", kind))
	}
	if twins[0].label == want {
		return twins[0]
	}
	return twins[1]
}

// twinSampler draws the content of one sentence and returns its two variants:
// the same multiset of tokens, opposite labels.
type twinSampler func(r *rand.Rand) [2]sentence

// twinKinds maps each twinned kind to its sampler (used by the tests).
var twinKinds = map[Kind]twinSampler{
	KindComparative: comparativeTwins,
	KindNotBut:      notButTwins,
	KindContrast:    contrastTwins,
	KindConcession:  concessionTwins,
}

// ---- clauses ---------------------------------------------------------------

type predKind uint8

const (
	predAdj     predKind = iota // [negator] [intensifier] adjective
	predFull                    // [negator] "full of" noun
	predWithout                 // [negator] "without" noun (flips)
)

type frameKind uint8

const (
	frameNone frameKind = iota
	frameNeutral
	frameFlip
)

// clauseSpec is the shape of a clause: which negating elements it has.
type clauseSpec struct {
	frame  frameKind
	adverb bool // a negator after the copula
	pred   predKind
}

func (s clauseSpec) flips() int {
	n := 0
	if s.frame == frameFlip {
		n++
	}
	if s.adverb {
		n++
	}
	if s.pred == predWithout {
		n++
	}
	return n
}

// clause is one drawn clause: [frame] the N [of the W] is|was PRED.
type clause struct {
	frame     []string
	frameFlip bool
	noun      string
	work      string // "" or the work of "of the W"
	cop       string
	neg       []string // nil or a negator
	intens    string   // "" or an intensifier (adjective predicates only)
	pred      predKind
	word      string // the adjective or polar noun
	wordPol   int    // polarity of word
}

// polarity is the polarity of the word flipped once per negating element.
func (c clause) polarity() int {
	n := 0
	if c.frameFlip {
		n++
	}
	if c.neg != nil {
		n++
	}
	if c.pred == predWithout {
		n++
	}
	return c.wordPol ^ (n & 1)
}

func (c clause) appendTo(dst []string) []string {
	dst = append(dst, c.frame...)
	dst = c.appendSubject(dst)
	dst = append(dst, c.cop)
	dst = append(dst, c.neg...)
	switch c.pred {
	case predAdj:
		if c.intens != "" {
			dst = append(dst, c.intens)
		}
	case predFull:
		dst = append(dst, "full", "of")
	case predWithout:
		dst = append(dst, "without")
	}
	return append(dst, c.word)
}

// withNegator returns c with the negator neg added (c has none).
func (c clause) withNegator(neg []string) clause {
	c.neg = neg
	return c
}

// withFlipFrame returns c introduced by the negating frame f (c has none).
func (c clause) withFlipFrame(f []string) clause {
	c.frame, c.frameFlip = f, true
	return c
}

// buildClause draws the words of a clause of shape s whose polarity is pol.
func buildClause(r *rand.Rand, s clauseSpec, pol int) clause {
	var c clause
	switch s.frame {
	case frameNeutral:
		c.frame = pick(r, neutralFrames)
	case frameFlip:
		c.frame, c.frameFlip = pick(r, flipFrames), true
	}
	c.noun, c.work = pickSubject(r)
	c.cop = pick(r, copulas)
	if s.adverb {
		c.neg = pick(r, negators)
	}
	c.pred = s.pred
	c.wordPol = pol ^ (s.flips() & 1)
	if s.pred == predAdj {
		c.intens = maybeIntensifier(r, 35)
		c.word = pickAdjective(r, c.wordPol)
	} else {
		c.word = pickNoun(r, c.wordPol)
	}
	return c
}

// clauseInPair draws the shape of one clause of a two-clause sentence: at
// most one negating element, an adverb only if adverb, a frame only if
// frame.
func clauseInPair(r *rand.Rand, adverb, frame bool) clauseSpec {
	s := clauseSpec{pred: predAdj}
	if r.IntN(100) < 20 {
		s.pred = predFull
	}
	switch x := r.IntN(100); {
	case x < 12:
		s.adverb = adverb
	case x < 22:
		s.pred = predWithout
	case x < 30:
		if frame {
			s.frame = frameFlip
		}
	case x < 38:
		if frame {
			s.frame = frameNeutral
		}
	}
	return s
}

// ---- the constructions -----------------------------------------------------

// simpleSentence: [opener] [neutral frame] clause without negation.
func simpleSentence(r *rand.Rand, want int) sentence {
	toks := maybeOpener(r)
	s := clauseSpec{pred: predAdj}
	if r.IntN(100) < 20 {
		s.pred = predFull
	}
	if r.IntN(100) < 15 {
		s.frame = frameNeutral
	}
	c := buildClause(r, s, want)
	return sentence{c.appendTo(toks), c.polarity()}
}

// negationSentence: [opener] one clause with one (60%) or two (40%)
// negating elements among a negator, "without" and a negating frame.
func negationSentence(r *rand.Rand, want int) sentence {
	toks := maybeOpener(r)
	s := clauseSpec{pred: predAdj}
	if r.IntN(100) < 60 {
		switch x := r.IntN(100); {
		case x < 50:
			s.adverb = true
		case x < 75:
			s.pred = predWithout
		default:
			s.frame = frameFlip
		}
	} else {
		switch x := r.IntN(100); {
		case x < 40:
			s.adverb, s.pred = true, predWithout
		case x < 75:
			s.adverb, s.frame = true, frameFlip
		default:
			s.frame, s.pred = frameFlip, predWithout
		}
	}
	if s.pred == predAdj && r.IntN(100) < 20 {
		s.pred = predFull
	}
	if s.frame == frameNone && r.IntN(100) < 10 {
		s.frame = frameNeutral
	}
	c := buildClause(r, s, want)
	return sentence{c.appendTo(toks), c.polarity()}
}

// comparativeTwins: [opener] the N is more A than B (A decides) or less A
// than B (B decides); the twins swap A and B.
func comparativeTwins(r *rand.Rand) [2]sentence {
	head := maybeOpener(r)
	noun, work := pickSubject(r)
	head = clause{noun: noun, work: work}.appendSubject(head)
	head = append(head, pick(r, copulas))
	more := r.IntN(2) == 0
	cmp := "less"
	if more {
		cmp = "more"
	}
	head = append(head, cmp)
	pos, neg := pickAdjective(r, 1), pickAdjective(r, 0)
	var out [2]sentence
	for v, ab := range [2][2]string{{pos, neg}, {neg, pos}} {
		toks := append(clone(head), ab[0], "than", ab[1])
		decider := ab[1]
		if more {
			decider = ab[0]
		}
		out[v] = sentence{toks, adjPolarity[decider]}
	}
	return out
}

// notButTwins: [opener] the N is not [int] A but [int] B: B decides; the
// twins swap A and B.
func notButTwins(r *rand.Rand) [2]sentence {
	head := maybeOpener(r)
	noun, work := pickSubject(r)
	head = clause{noun: noun, work: work}.appendSubject(head)
	head = append(head, pick(r, copulas), "not")
	i1, i2 := maybeIntensifier(r, 30), maybeIntensifier(r, 30)
	pos, neg := pickAdjective(r, 1), pickAdjective(r, 0)
	var out [2]sentence
	for v, ab := range [2][2]string{{pos, neg}, {neg, pos}} {
		toks := appendNonEmpty(clone(head), i1, ab[0], "but", i2, ab[1])
		out[v] = sentence{toks, adjPolarity[ab[1]]}
	}
	return out
}

// clausePair is the content of a contrast or concession: two clauses and
// how the twins differ. In swap mode the clauses have opposite polarities and
// the twins differ by which clause decides (order or connective position). In
// move mode the clauses have the same polarity before a movable negating
// element (a negator or a negating frame) is attached to one or the other;
// the twins differ by where it goes. Either way the two clauses of a sentence
// disagree.
type clausePair struct {
	a, b    clause
	swap    bool
	movable func(clause) clause
}

// drawClausePair draws a clausePair. With firstUnframed the first clause
// never has a frame: in "it is false that X but Y" the frame could be read
// as scoping over "X but Y", so a contrast puts frames in its second clause
// only (in swap mode, where the clauses trade places, in neither).
func drawClausePair(r *rand.Rand, firstUnframed bool) clausePair {
	if r.IntN(2) == 0 {
		pol := r.IntN(2)
		a := buildClause(r, clauseInPair(r, true, !firstUnframed), pol)
		b := buildClause(r, clauseInPair(r, true, !firstUnframed), 1-pol)
		return clausePair{a: a, b: otherSubject(r, a, b), swap: true}
	}
	pol := r.IntN(2)
	byAdverb := firstUnframed || r.IntN(100) < 70
	a := buildClause(r, clauseInPair(r, !byAdverb, byAdverb && !firstUnframed), pol)
	b := buildClause(r, clauseInPair(r, !byAdverb, byAdverb), pol)
	p := clausePair{a: a, b: otherSubject(r, a, b)}
	if byAdverb {
		neg := pick(r, negators)
		p.movable = func(c clause) clause { return c.withNegator(neg) }
	} else {
		f := pick(r, flipFrames)
		p.movable = func(c clause) clause { return c.withFlipFrame(f) }
	}
	return p
}

// otherSubject returns b, with its subject redrawn until it is about
// something else than a ("the ending is dull but the ending is superb", or
// "the film ... but the movie ...", reads as a contradiction, not a
// contrast).
func otherSubject(r *rand.Rand, a, b clause) clause {
	for b.noun == a.noun || isWhole[a.noun] && isWhole[b.noun] {
		b.noun, b.work = pickSubject(r)
	}
	return b
}

// moved returns the two variants of a move-mode pair: the movable element
// attached to the first clause, or to the second.
func (p clausePair) moved() [2][2]clause {
	return [2][2]clause{{p.movable(p.a), p.b}, {p.a, p.movable(p.b)}}
}

// contrastTwins: [opener] X conn Y, the second clause decides. Swap mode
// swaps X and Y; move mode moves a negator. X has no frame.
func contrastTwins(r *rand.Rand) [2]sentence {
	head := maybeOpener(r)
	conn := pick(r, contrastConnectives)
	p := drawClausePair(r, true)
	pairs := [2][2]clause{{p.a, p.b}, {p.b, p.a}}
	if !p.swap {
		pairs = p.moved()
	}
	var out [2]sentence
	for v, xy := range pairs {
		toks := xy[0].appendTo(clone(head))
		toks = append(toks, conn...)
		out[v] = sentence{xy[1].appendTo(toks), xy[1].polarity()}
	}
	return out
}

// concessionTwins: [opener] c X , Y (Y decides) or X , c Y (X decides).
// Swap mode moves the connective; move mode keeps it and moves the negating
// element.
func concessionTwins(r *rand.Rand) [2]sentence {
	head := maybeOpener(r)
	conn := pick(r, concessives)
	p := drawClausePair(r, false)
	render := func(x, y clause, prefix bool) sentence {
		toks := clone(head)
		if prefix {
			toks = append(toks, conn...)
			toks = x.appendTo(toks)
			toks = append(toks, ",")
			return sentence{y.appendTo(toks), y.polarity()}
		}
		toks = x.appendTo(toks)
		toks = append(toks, ",")
		toks = append(toks, conn...)
		return sentence{y.appendTo(toks), x.polarity()}
	}
	if p.swap {
		return [2]sentence{render(p.a, p.b, true), render(p.a, p.b, false)}
	}
	prefix := r.IntN(2) == 0
	m := p.moved()
	return [2]sentence{render(m[0][0], m[0][1], prefix), render(m[1][0], m[1][1], prefix)}
}

// ---- drawing words ---------------------------------------------------------

// appendSubject appends "the N [of the W]".
func (c clause) appendSubject(dst []string) []string {
	dst = append(dst, "the", c.noun)
	if c.work != "" {
		dst = append(dst, "of", "the", c.work)
	}
	return dst
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// pickSubject returns the subject noun and, one time in five for a part
// noun, the work it belongs to.
func pickSubject(r *rand.Rand) (noun, work string) {
	i := r.IntN(len(wholeNouns) + len(partNouns))
	if i < len(wholeNouns) {
		return wholeNouns[i], ""
	}
	noun = partNouns[i-len(wholeNouns)]
	if r.IntN(100) < 20 {
		work = pick(r, works)
	}
	return noun, work
}

func pickAdjective(r *rand.Rand, pol int) string {
	if pol == 1 {
		return pick(r, posAdjectives)
	}
	return pick(r, negAdjectives)
}

func pickNoun(r *rand.Rand, pol int) string {
	if pol == 1 {
		return pick(r, posNouns)
	}
	return pick(r, negNouns)
}

// maybeIntensifier returns an intensifier percent% of the time, else "".
func maybeIntensifier(r *rand.Rand, percent int) string {
	if r.IntN(100) < percent {
		return pick(r, intensifiers)
	}
	return ""
}

// maybeOpener returns a fresh slice holding an opener 20% of the time.
func maybeOpener(r *rand.Rand) []string {
	toks := make([]string, 0, 32)
	if r.IntN(100) < 20 {
		toks = append(toks, pick(r, openers)...)
	}
	return toks
}

func clone(s []string) []string { return append(make([]string, 0, len(s)+24), s...) }

func appendNonEmpty(dst []string, words ...string) []string {
	for _, w := range words {
		if w != "" {
			dst = append(dst, w)
		}
	}
	return dst
}
