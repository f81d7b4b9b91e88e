package ort

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgenas/edgenas/internal/fielderr"
)

// fakeInstall makes a node_modules directory whose onnxruntime-node
// package.json holds pkg, and returns it.
func fakeInstall(t *testing.T, pkg string) string {
	t.Helper()
	// Laid out as scripts/ort-setup.sh does: <root>/<version>/node_modules.
	nm := filepath.Join(t.TempDir(), DefaultVersion, "node_modules")
	if err := os.MkdirAll(filepath.Join(nm, Package), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(nm, Package, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	return nm
}

// fakeNode writes an executable shell script standing in for node and
// returns its path.
func fakeNode(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodPackage = `{"name": "onnxruntime-node", "version": "1.30.0"}`

func TestConfigValidate(t *testing.T) {
	node := fakeNode(t, "exit 0\n")
	good := fakeInstall(t, goodPackage)
	for _, tc := range []struct {
		name   string
		cfg    Config
		ortDir string   // EDGENAS_ORT_DIR; "" unsets it
		fields []string // fields the error names; none: valid
		want   string   // a substring of the error
	}{
		{name: "valid", cfg: Config{Node: node, NodeModules: good}},
		{name: "default dir from EDGENAS_ORT_DIR", cfg: Config{Node: node}, ortDir: filepath.Dir(filepath.Dir(good))},
		{name: "missing node", cfg: Config{Node: filepath.Join(t.TempDir(), "no-node"), NodeModules: good},
			fields: []string{"node"}, want: "Node.js"},
		{name: "node_modules without the package", cfg: Config{Node: node, NodeModules: t.TempDir()},
			fields: []string{"node_modules"}, want: "scripts/ort-setup.sh"},
		{name: "default dir empty", cfg: Config{Node: node}, ortDir: t.TempDir(),
			fields: []string{"node_modules"}, want: "not given, and the default"},
		{name: "another package", cfg: Config{Node: node, NodeModules: fakeInstall(t, `{"name": "left-pad", "version": "1.0.0"}`)},
			fields: []string{"node_modules"}, want: `name "left-pad"`},
		{name: "broken package.json", cfg: Config{Node: node, NodeModules: fakeInstall(t, `{"name": `)},
			fields: []string{"node_modules"}, want: "not a package.json"},
		{name: "bad version", cfg: Config{Node: node, NodeModules: fakeInstall(t, `{"name": "onnxruntime-node", "version": "1 2"}`)},
			fields: []string{"node_modules"}, want: "printable ASCII"},
		{name: "bad re-measure settings", cfg: Config{Node: node, NodeModules: good, MaxRelSpread: math.NaN(), MaxAttempts: -1},
			fields: []string{"max_rel_spread", "max_attempts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("EDGENAS_ORT_DIR", tc.ortDir)
			err := tc.cfg.Validate()
			if len(tc.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var got []string
			for _, fe := range fielderr.All(err) {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("Validate() fields %v, want %v (error: %v)", got, tc.fields, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestNewNamesWhatToInstall(t *testing.T) {
	// A node that cannot load onnxruntime-node exits at once, as the
	// worker does (status 3 and a message on stderr).
	node := fakeNode(t, "echo 'cannot load onnxruntime-node: MODULE_NOT_FOUND' >&2\nexit 3\n")
	_, err := New(Config{Node: node, NodeModules: fakeInstall(t, goodPackage)})
	if err == nil {
		t.Fatal("New succeeded with a worker that cannot start")
	}
	for _, want := range []string{"MODULE_NOT_FOUND", "scripts/ort-setup.sh", "exited at start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New() = %v, want it to say %q", err, want)
		}
	}
}

func FuzzParsePackageJSON(f *testing.F) {
	f.Add([]byte(goodPackage))
	f.Add([]byte(`{"name": "onnxruntime-node"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parsePackageJSON(data)
		if err == nil && (v == "" || strings.ContainsAny(v, " \n\t")) {
			t.Fatalf("parsePackageJSON(%q) = %q with no error", data, v)
		}
	})
}
