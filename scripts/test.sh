#!/usr/bin/env bash
# The project's test command (README "Test"): formatting, vet, unit tests,
# the ONNX Runtime oracle, short fuzzing of every parser, the portable
# arm64 build and the arm64 tests of internal/... and transformer/...
# under qemu-user (scripts/qemu-arm64.sh). Tests that read third-party
# data use $EDGENAS_TESTDATA (default ../shared/testdata) and skip, saying
# so, when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${EDGENAS_TESTDATA:-}" ] && [ -d ../shared/testdata ]; then
  export EDGENAS_TESTDATA="$(cd ../shared/testdata && pwd)"
fi
FUZZTIME="${FUZZTIME:-10s}"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== portable builds (pure Go)"
CGO_ENABLED=0 go build ./...
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build ./...
CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 go build -o /dev/null ./cmd/edgenas   # the agent on 32-bit boards
CGO_ENABLED=0 GOOS=android GOARCH=arm64 go build -o /dev/null ./cmd/edgenas     # the agent on phones

echo "== arm64 kernels and engine under qemu-user (no timings)"
bash scripts/qemu-arm64.sh

# onnxruntime-node first: the ort device's unit tests (devices/ort) run it.
echo "== ONNX Runtime (npm onnxruntime-node)"
EDGENAS_ORT_LIB="${EDGENAS_ORT_LIB:-$(bash scripts/ort-setup.sh)}"
export EDGENAS_ORT_LIB

echo "== unit tests"
go test -count=1 ./...

echo "== ONNX Runtime oracle (build tag ort)"
go vet -tags ort ./transformer/onnx/ ./reports/
CGO_ENABLED=1 go test -count=1 -tags ort -v ./transformer/onnx/
CGO_ENABLED=1 go test -count=1 -tags ort -run TestExportMatchesONNXRuntime -v ./reports/

echo "== hostile inputs through the built binary"
hostile_log=$(mktemp)
if ! bash scripts/hostile.sh >"$hostile_log" 2>&1; then
  grep -v '^clear' "$hostile_log"; rm -f "$hostile_log"; exit 1
fi
tail -n 1 "$hostile_log"; rm -f "$hostile_log"

# fuzz runs one fuzz target. Go 1.26's fuzzing coordinator can fail a run
# at its -fuzztime deadline with a bare "context deadline exceeded" and no
# failing input (a race between its deadline and a worker still in a call,
# go.dev/issue/75804, fixed in Go 1.27; more likely on a loaded machine):
# such a run is tried again, up to twice. A run that found a failing input,
# or failed any other way, fails at once.
fuzz() {
  local out attempt
  for attempt in 1 2 3; do
    if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" "$1" 2>&1); then
      printf '%s\n' "$out" | tail -n 2
      return 0
    fi
    printf '%s\n' "$out"
    if grep -q 'Failing input written' <<<"$out" || ! grep -q 'context deadline exceeded' <<<"$out"; then
      return 1
    fi
    [ "$attempt" -lt 3 ] && echo "-- $1 $2: the fuzzing coordinator stopped at its deadline without a failing input (go.dev/issue/75804); running it again"
  done
  return 1
}

echo "== fuzzing ($FUZZTIME per target)"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "-- $pkg $target"
    fuzz "$pkg" "$target"
  done
done
echo "all checks passed"
