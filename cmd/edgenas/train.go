package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/edgenas/edgenas/train"
)

// trainSummary is the JSON line `edgenas train` prints on stdout.
type trainSummary struct {
	*train.Result
	Config string `json:"config"`
	RunDir string `json:"run_dir"`
}

// runTrain trains a classifier from scratch as a YAML config describes,
// after its masked-LM pretraining stage when the config has one, and prints
// one JSON line summarizing the run (with pretrain_steps, pretrain_loss and
// pretrain_seconds when a pretraining stage ran). SIGINT or SIGTERM stops it
// after saving the last checkpoint; --resume continues from there.
func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	cfgPath := fs.String("c", "", "training config YAML (required; see configs/demo-teacher.yaml)")
	runDir := fs.String("run-dir", "", "run directory (default: the config's run_dir)")
	resume := fs.Bool("resume", false, "continue from the run directory's last checkpoint")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: edgenas train -c FILE [--run-dir DIR] [--resume]", errUsage)
	}
	cfg, err := train.LoadConfig(*cfgPath)
	if err != nil {
		return fmt.Errorf("%w: %w", errConfig, err)
	}
	if *runDir != "" {
		cfg.RunDir = *runDir
	}
	ctx, stop := interruptible()
	defer stop()
	res, err := train.Run(ctx, cfg, train.Options{Resume: *resume, Progress: stderr, Terminal: train.IsTerminal(stderr)})
	if err != nil {
		if errors.Is(err, train.ErrInterrupted) {
			return fmt.Errorf("%w (continue with: edgenas train -c %s --resume)", err, *cfgPath)
		}
		return err
	}
	rc, _ := cfg.Resolved()
	line, err := json.Marshal(trainSummary{Result: res, Config: *cfgPath, RunDir: rc.RunDir})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}
