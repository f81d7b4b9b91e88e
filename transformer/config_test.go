package transformer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name   string
		json   string
		check  func(t *testing.T, c Config)
		errHas []string
	}{
		{
			// The shape of Google's BERT-tiny config.json as HF ships it:
			// training-only keys (dropout, initializer_range) are ignored.
			name: "hf bert-tiny",
			json: `{"hidden_size":128,"hidden_act":"gelu","initializer_range":0.02,"vocab_size":30522,
				"hidden_dropout_prob":0.1,"num_attention_heads":2,"type_vocab_size":2,
				"max_position_embeddings":512,"num_hidden_layers":2,"intermediate_size":512,
				"attention_probs_dropout_prob":0.1}`,
			check: func(t *testing.T, c Config) {
				if c.HiddenSize != 128 || c.NumHiddenLayers != 2 || c.HeadSize() != 64 || c.NumLabels != 2 {
					t.Fatalf("got %+v", c)
				}
				if c.LayerNormEps != 1e-12 {
					t.Fatalf("default eps not applied: %v", c.LayerNormEps)
				}
				if !c.Uniform() {
					t.Fatal("plain config should be uniform")
				}
			},
		},
		{
			name: "sequence classification labels",
			json: `{"architectures":["BertForSequenceClassification"],"hidden_size":64,"num_attention_heads":4,
				"intermediate_size":128,"num_hidden_layers":1,"id2label":{"0":"negative","1":"neutral","2":"positive"},
				"label2id":{"negative":0,"neutral":1,"positive":2},"hidden_act":"gelu_new"}`,
			check: func(t *testing.T, c Config) {
				if c.NumLabels != 3 || strings.Join(c.Labels(), ",") != "negative,neutral,positive" {
					t.Fatalf("labels: %d %v", c.NumLabels, c.Labels())
				}
			},
		},
		{
			name: "edgenas per-layer section",
			json: `{"hidden_size":64,"num_attention_heads":4,"intermediate_size":128,"num_hidden_layers":2,
				"edgenas":{"version":1,"attention_head_size":16,"layers":[
				{"num_attention_heads":3,"intermediate_size":100},{"num_attention_heads":1,"intermediate_size":7}]}}`,
			check: func(t *testing.T, c Config) {
				if c.Layer(1).NumAttentionHeads != 1 || c.Layer(1).IntermediateSize != 7 || c.HeadSize() != 16 || c.Uniform() {
					t.Fatalf("per-layer shape lost: %+v", c.Edgenas)
				}
			},
		},
		{
			name:   "every problem at once",
			json:   `{"hidden_size":-1,"num_attention_heads":0,"hidden_act":"swish","layer_norm_eps":0,"vocab_size":0}`,
			errHas: []string{"hidden_size", "num_attention_heads", "hidden_act", "layer_norm_eps", "vocab_size"},
		},
		{
			name:   "heads do not divide hidden",
			json:   `{"hidden_size":100,"num_attention_heads":3}`,
			errHas: []string{"not a multiple"},
		},
		{
			name:   "edgenas layers count",
			json:   `{"num_hidden_layers":2,"edgenas":{"version":1,"attention_head_size":64,"layers":[{"num_attention_heads":1,"intermediate_size":4}]}}`,
			errHas: []string{"edgenas.layers"},
		},
		{
			name:   "relative positions unsupported",
			json:   `{"position_embedding_type":"relative_key"}`,
			errHas: []string{"position_embedding_type"},
		},
		{name: "not json", json: `{"hidden_size":`, errHas: []string{"decode"}},
		{name: "wrong type", json: `{"hidden_size":"big"}`, errHas: []string{"hidden_size"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			if len(tc.errHas) > 0 {
				if err == nil {
					t.Fatal("want an error")
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestConfigFieldErrors(t *testing.T) {
	_, err := ParseConfig([]byte(`{"hidden_act":"tanh"}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "hidden_act" {
		t.Fatalf("want a *FieldError for hidden_act, got %v", err)
	}
	// num_labels given as 0 is refused (absent, it follows id2label or 2).
	_, err = ParseConfig([]byte(`{"num_labels":0}`))
	if !errors.As(err, &fe) || fe.Field != "num_labels" {
		t.Fatalf("num_labels 0: want a *FieldError for num_labels, got %v", err)
	}
	if c, err := ParseConfig([]byte(`{"id2label":{"0":"a","1":"b","2":"c"}}`)); err != nil || c.NumLabels != 3 {
		t.Fatalf("absent num_labels: %d, %v; want 3 from id2label", c.NumLabels, err)
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), ConfigFile)
	if err := os.WriteFile(path, []byte(`{"vocab_size":0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "vocab_size") {
		t.Fatalf("error should name file and field: %v", err)
	}
}

func TestConfigMarshalRoundTrip(t *testing.T) {
	c := heteroConfig()
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Layer(2) != c.Layer(2) || back.HeadSize() != 8 || back.NumLabels != c.NumLabels || len(back.ID2Label) != c.NumLabels {
		t.Fatalf("round trip lost fields:\n%s", data)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"hidden_size":128,"num_attention_heads":2}`))
	f.Add([]byte(`{"num_hidden_layers":2,"edgenas":{"version":1,"attention_head_size":64,"layers":[{"num_attention_heads":1,"intermediate_size":4},{"num_attention_heads":2,"intermediate_size":9}]}}`))
	f.Add([]byte(`{"id2label":{"0":"a","7":"b"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		// A valid config must describe a model whose sizes are sane.
		for i := 0; i < c.NumHiddenLayers; i++ {
			l := c.Layer(i)
			if l.NumAttentionHeads <= 0 || l.IntermediateSize <= 0 || c.HeadSize() <= 0 {
				t.Fatalf("valid config with empty layer %d: %+v", i, l)
			}
		}
		if _, err := c.Marshal(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestModelDoesNotShareConfig(t *testing.T) {
	cfg := heteroConfig()
	m, err := NewModel(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	m.Config.Edgenas.Layers[0].NumAttentionHeads = 1
	m.Config.Edgenas.Provenance = "changed"
	if cfg.Edgenas.Layers[0].NumAttentionHeads != 4 || cfg.Edgenas.Provenance != "" {
		t.Fatal("a model's config aliases the caller's")
	}
}

func TestCheckTokenizer(t *testing.T) {
	c := DefaultConfig()
	c.VocabSize = 30528 // bert-base-uncased's 30522 padded to a multiple of 64
	for _, tc := range []struct {
		size int
		ok   bool
	}{{30528, true}, {30522, true}, {30529, false}, {30400, false}, {30500, true}, {30464, false}, {20, false}} {
		if err := c.CheckTokenizer(tc.size); (err == nil) != tc.ok {
			t.Errorf("tokenizer of %d for vocab_size %d: %v, want ok %v", tc.size, c.VocabSize, err, tc.ok)
		}
	}
}
