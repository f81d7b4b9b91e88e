package ort

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/edgenas/edgenas/internal/fielderr"
	"github.com/edgenas/edgenas/internal/limitio"
)

// DefaultVersion is the onnxruntime-node version scripts/ort-setup.sh
// installs; the default node_modules directory is the one it installs it
// into (DefaultNodeModules). Keep the two in step.
const DefaultVersion = "1.30.0"

// Package is the npm package the worker runs models with.
const Package = "onnxruntime-node"

// Config says where Node.js and onnxruntime-node are, and how the device
// re-measures: device.ort in a search config. The zero value takes every
// default.
type Config struct {
	// NodeModules is the node_modules directory holding onnxruntime-node
	// (default: DefaultNodeModules, where scripts/ort-setup.sh installs
	// it).
	NodeModules string `yaml:"node_modules" json:"node_modules,omitempty"`
	// Node is the Node.js executable, a path or a name looked up in PATH
	// (default "node").
	Node string `yaml:"node" json:"node,omitempty"`
	// MaxRelSpread is the largest MAD/median an attempt may have before
	// the workload is measured again (default 0.05).
	MaxRelSpread float64 `yaml:"max_rel_spread" json:"max_rel_spread,omitempty"`
	// MaxAttempts bounds the attempts per measurement (default 3).
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts,omitempty"`
}

// install says what to run to get onnxruntime-node where the device looks.
const install = "install it with scripts/ort-setup.sh (npm install onnxruntime-node@" + DefaultVersion +
	" into $EDGENAS_ORT_DIR/" + DefaultVersion + ", default ~/.cache/edgenas/ort/" + DefaultVersion +
	"), or set device.ort.node_modules to the node_modules directory of an install"

// DefaultNodeModules returns the node_modules directory scripts/ort-setup.sh
// installs onnxruntime-node into: $EDGENAS_ORT_DIR/<DefaultVersion>/node_modules,
// or $HOME/.cache/edgenas/ort/<DefaultVersion>/node_modules when
// EDGENAS_ORT_DIR is unset.
func DefaultNodeModules() (string, error) {
	root := os.Getenv("EDGENAS_ORT_DIR")
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("neither EDGENAS_ORT_DIR nor HOME is set: %w", err)
		}
		root = filepath.Join(home, ".cache", "edgenas", "ort")
	}
	return filepath.Join(root, DefaultVersion, "node_modules"), nil
}

// resolved is a validated Config: absolute paths and the package version.
type resolved struct {
	node, nodeModules, version string
	maxRelSpread               float64
	maxAttempts                int
}

// Validate returns every problem of c at once, each a *fielderr.FieldError
// naming its field: node must be an executable, node_modules must hold
// onnxruntime-node (its package.json naming its version), the re-measure
// settings must be in range.
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

// resolve validates c, applies the defaults and returns what New needs.
func (c Config) resolve() (resolved, error) {
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, fielderr.New(field, format, a...)) }
	r := resolved{maxRelSpread: c.MaxRelSpread, maxAttempts: c.MaxAttempts}
	if c.MaxRelSpread < 0 || c.MaxRelSpread != c.MaxRelSpread {
		bad("max_rel_spread", "%v, want ≥ 0 (0: 0.05)", c.MaxRelSpread)
	}
	if r.maxRelSpread == 0 {
		r.maxRelSpread = 0.05
	}
	if c.MaxAttempts < 0 {
		bad("max_attempts", "%d, want ≥ 1 (0: 3)", c.MaxAttempts)
	}
	if r.maxAttempts == 0 {
		r.maxAttempts = 3
	}
	node := c.Node
	if node == "" {
		node = "node"
	}
	if p, err := exec.LookPath(node); err != nil {
		bad("node", "%v: want the Node.js executable (install Node.js, e.g. apt-get install nodejs, or name it here)", err)
	} else if r.node, err = filepath.Abs(p); err != nil {
		bad("node", "%v", err)
	}
	dir := c.NodeModules
	if dir == "" {
		d, err := DefaultNodeModules()
		if err != nil {
			bad("node_modules", "%v; %s", err, install)
		}
		dir = d
	}
	if dir != "" {
		v, err := readVersion(dir)
		switch {
		case err != nil && c.NodeModules == "":
			bad("node_modules", "not given, and the default %s holds no usable %s: %v; %s", dir, Package, err, install)
		case err != nil:
			bad("node_modules", "%v; %s", err, install)
		}
		r.version = v
		if r.nodeModules, err = filepath.Abs(dir); err != nil {
			bad("node_modules", "%v", err)
		}
	}
	return r, errors.Join(errs...)
}

// readVersion returns the version of the onnxruntime-node package in the
// node_modules directory dir, read from its package.json.
func readVersion(dir string) (string, error) {
	path := filepath.Join(dir, Package, "package.json")
	data, err := limitio.ReadFile(path, limitio.ConfigLimit, "an npm package.json")
	if err != nil {
		return "", err
	}
	v, err := parsePackageJSON(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// parsePackageJSON returns the version of an npm package.json that names
// onnxruntime-node.
func parsePackageJSON(data []byte) (string, error) {
	var p struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return "", fmt.Errorf("not a package.json: %w", err)
	}
	if p.Name != Package {
		return "", fmt.Errorf("name %q, want %q", p.Name, Package)
	}
	if p.Version == "" || len(p.Version) > 64 || strings.IndexFunc(p.Version, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return "", fmt.Errorf("version %q, want the package's version (printable ASCII, no spaces)", p.Version)
	}
	return p.Version, nil
}
