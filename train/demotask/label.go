package demotask

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Label parses text with the grammar of the generator and returns its label:
// 0 (negative) or 1 (positive). It is the reference labeler: the label of
// every generated example is Label(example.Text), which the tests check on
// every example, so labels are a function of the text alone.
//
// The text is lower-cased and split on white space; tokens are the entries of
// [Lexicon] (punctuation stands apart: "good , but"). A text the grammar does
// not generate gives an error wrapping [ErrNotInGrammar] that names the
// position of the first problem. This includes two-clause sentences whose
// clauses have the same polarity ("the plot is good but the cast is great"),
// and "more A than B" or "not A but B" with A and B of the same polarity,
// which the generator never makes. No input makes Label panic.
func Label(text string) (int, error) {
	p := &parser{toks: strings.Fields(strings.ToLower(text))}
	label, err := p.sentence()
	if err != nil {
		return 0, fmt.Errorf("demotask: label %q: %w", abbreviate(text), err)
	}
	return label, nil
}

// parser is a recursive-descent parser over the tokens of one sentence.
type parser struct {
	toks []string
	i    int
}

// sentence := [opener] ( concessive clause "," clause
//
//	| first [ contrast clause | "," concessive clause ] )
func (p *parser) sentence() (int, error) {
	if len(p.toks) == 0 {
		return 0, fmt.Errorf("empty text: %w", ErrNotInGrammar)
	}
	p.acceptAny(openers)
	if p.acceptAny(concessives) {
		x, err := p.clause()
		if err != nil {
			return 0, err
		}
		if !p.accept(",") {
			return 0, p.fail("\",\" after the conceded clause")
		}
		y, err := p.clause()
		if err != nil {
			return 0, err
		}
		return y, p.finishPair(x, y)
	}
	start := p.i
	x, whole, err := p.first()
	if err != nil {
		return 0, err
	}
	if whole || p.i == len(p.toks) {
		return x, p.end()
	}
	if p.acceptAny(contrastConnectives) {
		if p.toks[start] != "the" {
			// "it is false that X but Y": does the frame scope over Y?
			return 0, fmt.Errorf("a frame in the first clause of a contrast is ambiguous: %w", ErrNotInGrammar)
		}
		y, err := p.clause()
		if err != nil {
			return 0, err
		}
		return y, p.finishPair(x, y)
	}
	if p.accept(",") && p.acceptAny(concessives) {
		y, err := p.clause()
		if err != nil {
			return 0, err
		}
		return x, p.finishPair(x, y)
	}
	return 0, p.fail("a connective or the end")
}

// finishPair checks the end of a two-clause sentence with clause polarities
// x and y.
func (p *parser) finishPair(x, y int) error {
	if err := p.end(); err != nil {
		return err
	}
	if x == y {
		return fmt.Errorf("both clauses have the same polarity: %w", ErrNotInGrammar)
	}
	return nil
}

// clause parses a clause that may not be a comparative or "not A but B".
func (p *parser) clause() (int, error) {
	pol, _, err := p.parseClause(false)
	return pol, err
}

// first parses the first clause, which may be a comparative or "not A but
// B"; whole reports that it was one, which must then end the sentence.
func (p *parser) first() (pol int, whole bool, err error) { return p.parseClause(true) }

// parseClause := [frame] "the" noun ["of" "the" work] copula pred
//
//	pred := ("more" | "less") adj "than" adj            (whole sentence only)
//	      | [negator] ("full" "of" | "without") noun
//	      | [negator] [intensifier] adj
//	      | "not" [intensifier] adj "but" [intensifier] adj  (whole sentence only)
func (p *parser) parseClause(wholeOK bool) (pol int, whole bool, err error) {
	flips := 0
	start := p.i
	for _, f := range allFrames {
		if p.accept(f...) {
			if isFlipFrame[strings.Join(f, " ")] {
				flips++
			}
			break
		}
	}
	framed := p.i > start
	if !p.accept("the") {
		return 0, false, p.fail(`"the" or a frame`)
	}
	noun := p.peek(0)
	if !isSubject[noun] {
		return 0, false, p.fail("a subject noun")
	}
	p.i++
	if p.peek(0) == "of" {
		if !isPart[noun] {
			return 0, false, p.fail("a copula")
		}
		p.i++
		if !p.accept("the") {
			return 0, false, p.fail(`"the"`)
		}
		if !isWork[p.peek(0)] {
			return 0, false, p.fail("a work (film, sequel, ...)")
		}
		p.i++
	}
	if !isCopula[p.peek(0)] {
		return 0, false, p.fail("a copula")
	}
	p.i++

	if cmp := p.peek(0); cmp == "more" || cmp == "less" {
		if !wholeOK || framed {
			return 0, false, p.fail("a predicate")
		}
		p.i++
		a, err := p.adjective()
		if err != nil {
			return 0, false, err
		}
		if !p.accept("than") {
			return 0, false, p.fail(`"than"`)
		}
		b, err := p.adjective()
		if err != nil {
			return 0, false, err
		}
		if a == b {
			return 0, false, fmt.Errorf("comparative of two adjectives of the same polarity: %w", ErrNotInGrammar)
		}
		if cmp == "more" {
			return a, true, nil
		}
		return b, true, nil
	}

	negStart := p.i
	if p.acceptAny(negators) {
		flips++
	}
	plainNot := p.i == negStart+1 && p.toks[negStart] == "not"
	nounPred := false
	switch {
	case p.accept("without"):
		flips++
		nounPred = true
	case p.accept("full"):
		if !p.accept("of") {
			return 0, false, p.fail(`"of"`)
		}
		nounPred = true
	}
	if nounPred {
		n, ok := nounPolarity[p.peek(0)]
		if !ok {
			return 0, false, p.fail("a polar noun (charm, flaws, ...)")
		}
		p.i++
		return n ^ (flips & 1), false, nil
	}
	a, err := p.adjective()
	if err != nil {
		return 0, false, err
	}
	if wholeOK && !framed && plainNot && p.peek(0) == "but" {
		next := p.peek(1)
		if _, adj := adjPolarity[next]; adj || isIntensity[next] {
			p.i++
			b, err := p.adjective()
			if err != nil {
				return 0, false, err
			}
			if a == b {
				return 0, false, fmt.Errorf("\"not A but B\" with A and B of the same polarity: %w", ErrNotInGrammar)
			}
			return b, true, nil
		}
	}
	return a ^ (flips & 1), false, nil
}

// adjective := [intensifier] adj; it returns the polarity of adj.
func (p *parser) adjective() (int, error) {
	if isIntensity[p.peek(0)] {
		p.i++
	}
	a, ok := adjPolarity[p.peek(0)]
	if !ok {
		return 0, p.fail("an adjective")
	}
	p.i++
	return a, nil
}

// peek returns the token k places ahead, "" past the end.
func (p *parser) peek(k int) string {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return ""
}

// accept consumes seq if the tokens continue with it.
func (p *parser) accept(seq ...string) bool {
	if !p.hasPrefix(seq) {
		return false
	}
	p.i += len(seq)
	return true
}

// acceptAny consumes the longest phrase of list the tokens continue with.
func (p *parser) acceptAny(list [][]string) bool {
	best := -1
	for k, seq := range list {
		if (best < 0 || len(seq) > len(list[best])) && p.hasPrefix(seq) {
			best = k
		}
	}
	if best < 0 {
		return false
	}
	p.i += len(list[best])
	return true
}

func (p *parser) hasPrefix(seq []string) bool {
	if len(p.toks)-p.i < len(seq) {
		return false
	}
	for k, w := range seq {
		if p.toks[p.i+k] != w {
			return false
		}
	}
	return true
}

func (p *parser) end() error {
	if p.i != len(p.toks) {
		return p.fail("the end")
	}
	return nil
}

// fail reports that want was expected at the current token.
func (p *parser) fail(want string) error {
	got := "the end"
	if p.i < len(p.toks) {
		got = fmt.Sprintf("%q", abbreviate(p.toks[p.i]))
	}
	return fmt.Errorf("token %d: want %s, got %s: %w", p.i+1, want, got, ErrNotInGrammar)
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	// Cut on a rune boundary.
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
