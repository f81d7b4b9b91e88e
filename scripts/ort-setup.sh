#!/usr/bin/env bash
# ort-setup.sh installs the ONNX Runtime shared library that the ONNX oracle
# tests (go test -tags ort ./transformer/onnx/) load, and prints its absolute
# path as the last line of stdout; every other message goes to stderr:
#
#   EDGENAS_ORT_LIB=$(scripts/ort-setup.sh) CGO_ENABLED=1 \
#     go test -tags ort ./transformer/onnx/
#
# The library comes from the npm package onnxruntime-node, installed with
# --ignore-scripts (its install script would download more, and is not
# needed) into $EDGENAS_ORT_DIR/<version> (default $HOME/.cache/edgenas/ort).
# A second run finds the library and installs nothing. Without npm, the script
# installs nodejs and npm with apt-get when it runs as root, and otherwise
# says what to install.
set -euo pipefail

version=1.30.0

log() { printf 'ort-setup: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

case "$(uname -s)/$(uname -m)" in
Linux/x86_64 | Linux/amd64) platform=linux/x64 lib=libonnxruntime.so.1 ;;
Linux/aarch64 | Linux/arm64) platform=linux/arm64 lib=libonnxruntime.so.1 ;;
Darwin/arm64) platform=darwin/arm64 lib=libonnxruntime.1.dylib ;;
*) die "onnxruntime-node@$version has no ONNX Runtime library for $(uname -s)/$(uname -m)" ;;
esac

if [ -n "${EDGENAS_ORT_DIR:-}" ]; then
	root=$EDGENAS_ORT_DIR
else
	[ -n "${HOME:-}" ] || die "HOME is not set; set EDGENAS_ORT_DIR to the directory to install into"
	root=$HOME/.cache/edgenas/ort
fi
mkdir -p "$root" || die "cannot create $root"
root=$(cd "$root" && pwd -P)
dest=$root/$version
path=$dest/node_modules/onnxruntime-node/bin/napi-v6/$platform/$lib

if [ -f "$path" ]; then
	log "ONNX Runtime $version is already installed in $dest"
	printf '%s\n' "$path"
	exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
	log "npm is not installed; it is needed to fetch onnxruntime-node@$version"
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "running as root: installing nodejs and npm with apt-get"
		apt-get update >&2 || die "apt-get update failed"
		DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm >&2 ||
			die "apt-get install -y nodejs npm failed"
		command -v npm >/dev/null 2>&1 || die "npm is still not on PATH after installing it"
	else
		die "install Node.js and npm (for example: sudo apt-get install -y nodejs npm) and run this script again"
	fi
fi

# Concurrent runs (parallel CI jobs sharing a cache) take turns.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$root/.lock"
	flock 9
	if [ -f "$path" ]; then
		log "ONNX Runtime $version was installed meanwhile in $dest"
		printf '%s\n' "$path"
		exit 0
	fi
fi

# Install into a fresh directory and rename it into place, so an interrupted
# install never leaves a half-written $dest behind.
tmp=$(mktemp -d "$root/.install-$version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '{"private": true}\n' >"$tmp/package.json"
log "installing onnxruntime-node@$version with npm into $dest"
(cd "$tmp" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "onnxruntime-node@$version") >&2 ||
	die "npm install onnxruntime-node@$version failed"
[ -f "$tmp/node_modules/onnxruntime-node/bin/napi-v6/$platform/$lib" ] ||
	die "onnxruntime-node@$version holds no bin/napi-v6/$platform/$lib"
chmod 755 "$tmp"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
log "installed ONNX Runtime $version"
printf '%s\n' "$path"
