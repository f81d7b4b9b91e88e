// Command edgenas searches for compressed variants of a BERT-like encoder
// that keep its accuracy at a fraction of its latency and size on an edge
// device. See README.md for the commands.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgenas/edgenas/evaluator"
	"github.com/edgenas/edgenas/transformer"
)

// Version is the engine and tool version, part of every device fingerprint.
const Version = "0.1.0-dev"

// command is one subcommand of the CLI.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "run the engine end to end on built-in defaults (random-weight model: load, run, export, time)", runDemo},
		{"init", "write a random-weight model directory of a standard shape (for engine tests)", runInit},
		{"encode", "tokenize text and run a model directory on it", runEncode},
		{"export-onnx", "export a model directory to ONNX (opset 17)", runExportONNX},
		{"train", "train a classifier from scratch as a YAML config describes (-c FILE [--run-dir DIR] [--resume])", runTrain},
		{"search", "search for compressed students as a YAML config describes (-c FILE [--json] [--fresh]); prints the Pareto front", runSearch},
		{"baselines", "evaluate each compression technique alone at three strengths (-c FILE [--json])", runBaselines},
		{"distill", "distil front students of a run from the teacher, then rescore them (RUN_DIR [--select all|top=N|KEYS] [--steps N] [--json])", runDistill},
		{"report", "write a run's report: report.html with plots, pareto.json and pareto.csv (RUN_DIR [--out DIR] [--json])", runReport},
		{"export", "export front candidates of a run as model directories with ONNX, measurements and a model card (RUN_DIR --out DIR [--select KEYS|--best-under latency=2ms,size=5MB])", runExport},
		{"eval", "score a model directory on a labelled data file as the search does (--model DIR --data FILE [--max-len N] [--json])", runEval},
		{"predictor", "fit the latency predictor on a run's measured candidates per device and print its held-out error histogram (RUN_DIR [--seed N] [--json])", runPredictor},
		{"repair", "repair a run directory's damaged cache.db, keeping every entry that verifies (RUN_DIR [--json])", runRepair},
		{"worker", "evaluate a clustered search's jobs on this machine or device (--nats URL [--device NAME] [-c FILE [--fetch]] [--token-file F])", runWorker},
		{"agent", "serve latency measurements on this device to a search elsewhere (--listen ADDR --token-file F [--tls-cert F --tls-key F] [--max-body BYTES] [--queue N])", runAgent},
		{"bench", "measure a model's forward latency (warm-up, repeated runs, median and spread)", runBench},
		{"version", "print the version ([--json])", runVersion},
	}
}

// runVersion prints the version of the tool, the engine and the
// evaluation procedure.
func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	asJSON := fs.Bool("json", false, "print the versions as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"edgenas": Version, "engine": transformer.EngineVersion, "evaluator": evaluator.Version})
	}
	fmt.Fprintf(stdout, "edgenas %s (%s, %s)\n", Version, transformer.EngineVersion, evaluator.Version)
	return nil
}

// errNoFeasible marks a run in which no candidate met the constraints
// (exit code 3).
var errNoFeasible = errors.New("no feasible candidate")

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errInterrupted):
				return 130
			case errors.Is(err, errNoFeasible):
				fmt.Fprintf(stderr, "edgenas %s: %v\n", c.name, err)
				return 3
			case errors.Is(err, errUsage):
				fmt.Fprintf(stderr, "edgenas %s: %v\n", c.name, err)
				return 2
			case errors.Is(err, errConfig):
				fmt.Fprintf(stderr, "edgenas %s: %v\n", c.name, strings.TrimPrefix(err.Error(), errConfig.Error()+": "))
				return 2
			default:
				fmt.Fprintf(stderr, "edgenas %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "edgenas: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: edgenas <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'edgenas <command> -h' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("edgenas "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// interruptible returns a context that SIGINT and SIGTERM cancel, and the
// function that stops listening for them.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// warnLog returns the logger commands give a run: warnings and errors, as
// text on stderr.
func warnLog(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// parseRunDir parses a command's flags, which may come before or after its
// one argument, the run directory, and returns it ("" when none is given;
// a second one is a usage error showing use).
func parseRunDir(fs *flag.FlagSet, args []string, use string) (string, error) {
	var runDir string
	for rest := args; ; {
		if err := parse(fs, rest); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			return runDir, nil
		}
		if runDir != "" {
			return "", fmt.Errorf("%w: more than one run directory (%s, %s): %s", errUsage, runDir, fs.Arg(0), use)
		}
		runDir, rest = fs.Arg(0), fs.Args()[1:]
	}
}

// parse parses args, mapping flag errors to errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
