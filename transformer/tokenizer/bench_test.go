package tokenizer

import "testing"

// sst2Like are 32 short movie-review sentences in the style of SST-2.
var sst2Like = []string{
	"it 's a charming and often affecting journey .",
	"unflinchingly bleak and desperate",
	"allows us to hope that nolan is poised to embark a major career as a commercial yet inventive filmmaker .",
	"the acting , costumes , music , cinematography and sound are all astounding given the production 's austere locales .",
	"it 's slow -- very , very slow .",
	"although laced with humor and a few fanciful touches , the film is a refreshingly serious look at young women .",
	"a sometimes tedious film .",
	"or doing last year 's taxes with your ex-wife .",
	"you do n't have to know about music to appreciate the film 's easygoing blend of comedy and romance .",
	"in exactly 89 minutes , most of which passed as slowly as if i 'd been sitting naked on an igloo , formula 51 sank from quirky to jerky to utter turkey .",
	"the mesmerizing performances of the leads keep the film grounded and keep the audience riveted .",
	"it takes a strange kind of laziness to waste the talents of robert forster , anne meara , eugene levy , and reginald veljohnson all in the same movie .",
	"... the film suffers from a lack of humor ( something needed to balance out the violence ) ...",
	"we root for ( clara and paul ) , even like them , though perhaps it 's an emotion closer to pity .",
	"even horror fans will most likely not find what they 're seeking with trouble every day ; the movie lacks both thrills and humor .",
	"a gorgeous , high-spirited musical from india that exquisitely blends music , dance , song , and high drama .",
	"the emotions are raw and will strike a nerve with anyone who 's ever had family trauma .",
	"audrey tatou has a knack for picking roles that magnify her outrageous charm , and in this literate french comedy , she 's as morning-glory exuberant as she was in amélie .",
	"the movie is just a plain old monster .",
	"in its best moments , resembles a bad high school production of grease , without benefit of song .",
	"pumpkin takes an admirable look at the hypocrisy of political correctness , but it does so with such an uneven tone that you never know when humor ends and tragedy begins .",
	"the iditarod lasts for days - this just felt like it did .",
	"holden caulfield did it better .",
	"a delectable and intriguing thriller filled with surprises , read my lips is an original .",
	"seldom has a movie so closely matched the spirit of a man and his work .",
	"nicks , seemingly uncertain what 's going to make people laugh , runs the gamut from stale parody to raunchy sex gags to formula romantic comedy .",
	"the action switches between past and present , but the material link is too tenuous to anchor the emotional connections that purport to span a 125-year divide .",
	"it 's an offbeat treat that pokes fun at the democratic exercise while also examining its significance for those who take part .",
	"it 's a cookie-cutter movie , a cut-and-paste job .",
	"i had to look away - this was god awful .",
	"thanks to scott 's charismatic roger and eisenberg 's sweet nephew , roger dodger is one of the most compelling variations on in the company of men .",
	"... designed to provide a mix of smiles and tears , crossroads instead provokes a handful of unintentional howlers and numerous yawns .",
}

// BenchmarkEncodeBatch encodes 32 SST-2-like sentences into one padded batch
// (maxLen 128), with the real vocabulary when $EDGENAS_TESTDATA is set, else
// the small test vocabulary.
func BenchmarkEncodeBatch(b *testing.B) {
	tk := fuzzTokenizer(b)
	bytes := 0
	for _, s := range sst2Like {
		bytes += len(s)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	for b.Loop() {
		batch := tk.EncodeBatch(sst2Like, nil, 128)
		if batch.Size != len(sst2Like) {
			b.Fatal("wrong batch size")
		}
	}
}

// BenchmarkLoadVocab measures building the tokenizer from the real vocab.txt.
func BenchmarkLoadVocab(b *testing.B) {
	path := realVocabDir(b) + "/" + VocabFile
	for b.Loop() {
		if _, err := LoadVocab(path, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadTokenizerJSON measures building the tokenizer from the real
// tokenizer.json.
func BenchmarkLoadTokenizerJSON(b *testing.B) {
	path := realVocabDir(b) + "/" + TokenizerJSONFile
	for b.Loop() {
		if _, err := LoadTokenizerJSON(path); err != nil {
			b.Fatal(err)
		}
	}
}
