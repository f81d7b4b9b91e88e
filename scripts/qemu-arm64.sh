#!/usr/bin/env bash
# Runs the arm64 test binaries of internal/... and transformer/... under
# qemu-user, twice: on a CPU with the dot-product extension (-cpu max) and
# on one without it (cortex-a53, ARMv8.0), so that every arm64 kernel
# (ASIMD, SDOT and the portable fallbacks the tests force) is checked.
# Tests run with -test.short (about 45 s of emulation per CPU model, none
# needs skipping); no benchmark runs and no timing is printed: timings
# under emulation mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ]; then
  echo "qemu-arm64: qemu-aarch64(-static) not found (Debian: apt-get install qemu-user-static)" >&2
  exit 1
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

# Packages with tests, and their test binaries.
pkgs=$(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./internal/... ./transformer/...)
for pkg in $pkgs; do
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go test -c -o "$bin/$(echo "$pkg" | tr / _).test" "$pkg"
done

failed=0
for cpu in max cortex-a53; do
  for pkg in $pkgs; do
    test="$bin/$(echo "$pkg" | tr / _).test"
    dir=$(go list -f '{{.Dir}}' "$pkg")
    if out=$(cd "$dir" && "$qemu" -cpu "$cpu" "$test" -test.short -test.count=1 2>&1); then
      echo "ok   $pkg (arm64, qemu -cpu $cpu)"
    else
      echo "FAIL $pkg (arm64, qemu -cpu $cpu)"
      # Durations under emulation are not reported.
      echo "$out" | sed -E 's/ \([0-9.]+s\)$//'
      failed=1
    fi
  done
done
exit $failed
