#!/usr/bin/env bash
# hostile.sh runs hostile inputs through the built edgenas binary and checks
# that each one is refused clearly: broken YAML configs (syntax, unknown
# keys, wrong types, negative, zero and huge numbers for every numeric field,
# unset variables, /dev/zero, a 5 GB sparse file, alias bombs, 2 million list
# entries), broken model directories (config.json, safetensors, vocabularies,
# NaN weights) for encode, bench and export-onnx, bad flags, bad TSV data and
# damaged run directories (cache.db). scripts/hostilegen.py writes the inputs;
# nothing is committed but the generator.
#
# Each case runs under a 2 GiB address-space limit (prlimit --as; the Go
# runtime starts fine under it because it reserves address space lazily) and
# a time limit (HOSTILE_TIMEOUT seconds, default 20), and is classified:
#
#   clear   exit 1 or 2 with an error that names the offending file, field or
#           flag (a per-case pattern) in under 4 KiB; or, for a legal value
#           (a zero that means the default), exit 0
#   panic   a Go panic, "fatal error:", a goroutine trace or a crash signal
#   oom     out of memory: "out of memory", "cannot allocate memory", or
#           killed by SIGKILL
#   hang    the time limit ran out
#   silent  the problem went unreported: exit 0 where an error was expected,
#           or an error that does not name the file/field (or is ≥ 4 KiB)
#
# It prints one line per case and, last,
#   hostile N clear N panic N oom N hang N silent N
# and exits non-zero unless every case is clear.
#
# Usage: scripts/hostile.sh [PATTERN]   (runs only cases whose name matches
# the extended regular expression PATTERN). Needs go, python3, prlimit and
# timeout, flock (util-linux, coreutils). HOSTILE_KEEP=1 keeps the work directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIMIT=${HOSTILE_TIMEOUT:-20}
MEM=$((2 << 30))
FILTER=${1:-}

W=$(mktemp -d "${TMPDIR:-/tmp}/edgenas-hostile.XXXXXX")
if [[ -z ${HOSTILE_KEEP:-} ]]; then
	trap 'rm -rf "$W"' EXIT
else
	echo "work directory: $W" >&2
fi

(cd "$ROOT" && CGO_ENABLED=0 go build -o "$W/edgenas" ./cmd/edgenas)
BIN=$W/edgenas
cd "$W"

# Controls: the harness itself must work, or every case would look clear.
prlimit --as=$MEM "$BIN" version >/dev/null ||
	{ echo "hostile: edgenas version does not run under a 2 GiB address-space limit" >&2; exit 1; }
cat >teacher.yaml <<'EOF'
model: {shape: custom, layers: 1, hidden: 16, heads: 1, ffn: 32, max_position: 32}
data:
  demo: {seed: 1, train: 64, dev: 32}
max_seq_len: 16
batch_size: 16
max_steps: 2
seed: 1
threads: 1
run_dir: teacher-run
EOF
"$BIN" train -c teacher.yaml >/dev/null 2>control.err ||
	{ cat control.err >&2; echo "hostile: the control teacher did not train" >&2; exit 1; }
cp -r teacher-run/best teacher
cat >control.yaml <<'EOF'
teacher: {dir: teacher}
data:
  demo: {seed: 1, train: 64, dev: 32}
importance: {examples: 16}
space: {layers: [1], heads: [1], ffn: [16, 32], bits: [32, 8], seq_len: [16]}
evaluator: {subsample: 16, max_len: 16}
device:
  local: {max_rel_spread: 0.5, max_attempts: 1}
search: {seed: 1, population_size: 4, budget: {max_evaluations: 4}}
run_dir: control-run
EOF
"$BIN" search -c control.yaml >/dev/null 2>control.err ||
	{ cat control.err >&2; echo "hostile: the control search failed" >&2; exit 1; }
"$BIN" encode -model teacher "a fine film" >/dev/null 2>control.err ||
	{ cat control.err >&2; echo "hostile: the control encode failed" >&2; exit 1; }

python3 "$ROOT/scripts/hostilegen.py" "$W" >/dev/null

declare -A count=([clear]=0 [panic]=0 [oom]=0 [hang]=0 [silent]=0)
total=0

# classify NAME EXPECT PATTERN RC SECONDS ERRFILE prints the outcome class
# and a one-line description.
classify() {
	local expect=$2 pattern=$3 rc=$4 secs=$5 err=$6 msg size
	# The error: from the last line the CLI's error prefix starts, else the
	# first line of stderr.
	msg=$(awk '/^edgenas[ :]/ {n = NR} END {print n + 0}' "$err")
	if [[ $msg -gt 0 ]]; then
		size=$(tail -n +"$msg" "$err" | wc -c)
		msg=$(sed -n "${msg}p" "$err")
	else
		size=$(wc -c <"$err")
		msg=$(head -n 1 "$err")
	fi
	msg=${msg:0:200}
	if [[ $rc -eq 124 || $secs -ge $LIMIT ]]; then
		echo "hang	timed out after ${secs}s; stderr: $(tail -n 1 "$err" | cut -c1-160)"
	elif grep -qE 'out of memory|cannot allocate memory' "$err" || [[ $rc -eq 137 ]]; then
		echo "oom	exit $rc: $(grep -m1 -E 'out of memory|cannot allocate memory|fatal error' "$err" | cut -c1-160)"
	elif grep -qE '^panic:|^fatal error:|^goroutine [0-9]+ \[|^SIGSEGV|^runtime\.' "$err" || [[ $rc -gt 128 ]]; then
		echo "panic	exit $rc: $(grep -m1 -E '^panic:|^fatal error:|^SIG|^runtime' "$err" | cut -c1-200)"
	elif [[ $rc -eq 0 ]]; then
		if [[ $expect == okfail ]]; then
			echo "clear	accepted (exit 0)"
		else
			echo "silent	exit 0, want an error naming /$pattern/"
		fi
	elif [[ $rc -ne 1 && $rc -ne 2 ]]; then
		echo "silent	exit $rc (want 1 or 2): $msg"
	elif [[ $size -ge 4096 ]]; then
		echo "silent	error of $size bytes (want < 4 KiB): $msg"
	elif ! grep -qE -- "$pattern" <(tail -c 4096 "$err"); then
		echo "silent	error does not name /$pattern/: $msg"
	else
		echo "clear	$msg"
	fi
}

while IFS=$'\t' read -r -a f; do
	name=${f[0]} expect=${f[1]} pattern=${f[2]}
	args=("${f[@]:3}")
	if [[ -n $FILTER ]] && ! [[ $name =~ $FILTER ]]; then
		continue
	fi
	lock=
	if [[ $name == search/cache-locked* ]]; then
		# Hold the cache's lock (flock(2), as bbolt takes it) as another
		# process would: the open file description is this shell's.
		exec {lock}<>"cases/$name/run/cache.db"
		flock -x "$lock"
	fi
	start=$SECONDS
	rc=0
	# (The subshell keeps bash's "Killed" notice out of the report.)
	(timeout -k 5 "$LIMIT" prlimit --as=$MEM "$BIN" "${args[@]}" >/dev/null 2>case.err </dev/null; exit $?) 2>/dev/null || rc=$?
	if [[ -n $lock ]]; then
		exec {lock}>&-
	fi
	secs=$((SECONDS - start))
	out=$(classify "$name" "$expect" "$pattern" "$rc" "$secs" case.err)
	class=${out%%$'\t'*}
	count[$class]=$((count[$class] + 1))
	total=$((total + 1))
	printf '%-6s  %-52s  %s\n' "$class" "$name" "${out#*$'\t'}"
done <manifest.tsv

echo "hostile $total clear ${count[clear]} panic ${count[panic]} oom ${count[oom]} hang ${count[hang]} silent ${count[silent]}"
[[ ${count[clear]} -eq $total ]]
