package demotask

import (
	"slices"
	"strings"
)

// The word tables of the grammar. Every table is read-only after package
// initialization; the generator draws from them and the parser in label.go
// looks words up in the sets built from them. doc.go describes the grammar.
var (
	// openers are optional sentence-initial fillers; they never change a label.
	openers = phrases("honestly ,", "frankly ,", "overall ,", "in short ,",
		"to be honest ,", "all in all ,", "in the end ,", "for me ,")

	// wholeNouns can only be a subject on their own ("the film").
	wholeNouns = []string{"film", "movie"}
	// partNouns can be a subject on their own ("the plot") or followed by
	// "of the" and a work ("the plot of the sequel").
	partNouns = []string{"plot", "story", "script", "acting", "cast", "ending",
		"soundtrack", "dialogue", "pacing", "direction", "cinematography",
		"editing", "finale", "premise", "screenplay", "performance", "music"}
	// works follow "of the" in a subject.
	works = []string{"film", "movie", "sequel", "show", "series", "remake"}

	copulas = []string{"is", "was"}

	// intensifiers strengthen an adjective and never flip it.
	intensifiers = []string{"very", "extremely", "really", "truly", "quite",
		"incredibly", "remarkably", "genuinely"}

	// negators flip the polarity of the predicate they precede.
	negators = phrases("not", "never", "hardly", "no longer")

	posAdjectives = []string{"good", "great", "superb", "brilliant", "wonderful",
		"excellent", "charming", "moving", "clever", "delightful", "gripping",
		"beautiful", "fresh", "engaging", "solid", "impressive"}
	negAdjectives = []string{"bad", "dull", "awful", "boring", "terrible", "weak",
		"clumsy", "tedious", "bland", "messy", "lifeless", "predictable", "poor",
		"shallow", "forgettable", "tiresome"}

	// Polar nouns follow "full of" (keeps the polarity) or "without" (flips it).
	posNouns = []string{"charm", "wit", "heart", "humor", "energy", "warmth",
		"style", "surprises"}
	negNouns = []string{"flaws", "problems", "cliches", "mistakes", "weaknesses",
		"errors", "holes"}

	// neutralFrames introduce a clause and keep its polarity.
	neutralFrames = phrases("i think that", "i believe that", "i feel that",
		"critics say that", "everyone agrees that", "it is true that")
	// flipFrames introduce a clause and flip its polarity.
	flipFrames = phrases("i doubt that", "nobody thinks that",
		"nobody believes that", "it is not true that", "it is false that",
		"it is not that")

	// contrastConnectives join two clauses; the second clause decides.
	contrastConnectives = phrases("but", ", but", "yet", ", yet", ", and yet",
		"; however ,")
	// concessives open the conceded clause: in "c X , Y" Y decides, in
	// "X , c Y" X decides.
	concessives = phrases("although", "though", "even though", "even if",
		"despite the fact that")

	// fixedWords are the words that occur only inside fixed constructions.
	fixedWords = []string{"the", "of", "full", "without", "more", "less", "than",
		"not", "but", ","}
)

// Lookup sets for the parser.
var (
	adjPolarity  = polarityMap(posAdjectives, negAdjectives)
	nounPolarity = polarityMap(posNouns, negNouns)
	isIntensity  = set(intensifiers)
	isCopula     = set(copulas)
	isPart       = set(partNouns)
	isWhole      = set(wholeNouns)
	isWork       = set(works)
	isSubject    = set(append(slices.Clone(wholeNouns), partNouns...))
	allFrames    = append(slices.Clone(neutralFrames), flipFrames...)
	isFlipFrame  = set(joinAll(flipFrames))
	lexicon      = buildLexicon()
)

// Lexicon returns every token the generator can emit, lower-case and sorted,
// punctuation tokens ("," and ";") included. Sentences are these tokens joined
// by single spaces, so a WordPiece vocabulary that contains every entry keeps
// every word whole. The caller owns the returned slice.
func Lexicon() []string { return slices.Clone(lexicon) }

func buildLexicon() []string {
	var all []string
	for _, list := range [][][]string{openers, negators, neutralFrames,
		flipFrames, contrastConnectives, concessives} {
		for _, p := range list {
			all = append(all, p...)
		}
	}
	for _, list := range [][]string{wholeNouns, partNouns, works, copulas,
		intensifiers, posAdjectives, negAdjectives, posNouns, negNouns,
		fixedWords} {
		all = append(all, list...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// phrases splits each space-separated phrase into its tokens.
func phrases(list ...string) [][]string {
	out := make([][]string, len(list))
	for i, p := range list {
		out[i] = strings.Fields(p)
	}
	return out
}

func joinAll(list [][]string) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = strings.Join(p, " ")
	}
	return out
}

func set(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func polarityMap(pos, neg []string) map[string]int {
	m := make(map[string]int, len(pos)+len(neg))
	for _, w := range pos {
		m[w] = 1
	}
	for _, w := range neg {
		m[w] = 0
	}
	return m
}
