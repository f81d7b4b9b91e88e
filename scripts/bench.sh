#!/usr/bin/env bash
# bench.sh runs one of the project's benchmark suites and prints its table:
#
#   bash scripts/bench.sh engine [--quick]
#   bash scripts/bench.sh compress [--quick]
#   bash scripts/bench.sh search [searchbench flags]
#   bash scripts/bench.sh agent [--quick]
#   bash scripts/bench.sh ortdevice [ortbench flags]
#   bash scripts/bench.sh predictor [predictorbench flags]
#   bash scripts/bench.sh screening [screeningbench flags]
#
# ortdevice: 60 students sampled from configs/demo.yaml's space (the demo
# teacher is trained on first use, about a minute and a half) measured on
# the engine (local device) and in ONNX Runtime (devices/ort, npm
# onnxruntime-node, installed by scripts/ort-setup.sh), interleaved; the
# last line is `ort_engine_kendall_tau X` (scripts/ortbench).
# engine: the inference engine against OpenBLAS and ONNX Runtime, all
# single-threaded, in one run:
#   - GEMM C = A·Wᵀ at M=128 for K×N = 128×128, 128×512, 256×1024, 512×2048,
#     768×3072, 3072×768: edgenas (internal/gemm, W packed once), OpenBLAS
#     cblas_sgemm(RowMajor, NoTrans, Trans) and ONNX Runtime MatMul (one-node
#     model, W a [K,N] initializer), GFLOP/s, median of 5 rounds;
#   - forward pass, batch 1, seq 32/128/512, BERT-tiny and BERT-mini shapes
#     (random weights, vocabulary 30522): edgenas (one-thread Session) and ONNX
#     Runtime on the exported model (1 intra-op and 1 inter-op thread,
#     sequential, ORT_ENABLE_ALL), in ms, median [min–max] of 15 interleaved
#     runs after 3 warm-up runs of each.
# The last line of stdout is `ratio_vs_ort R`: edgenas median / ONNX Runtime
# median for BERT-mini at seq 128. --quick runs fewer shapes and runs (a
# smoke test; its numbers are not for comparison).
#
# What it needs, and finds or installs: Go, a C compiler (cgo), OpenBLAS
# (libopenblas-dev, installed with apt-get when missing and running as root)
# and ONNX Runtime (scripts/ort-setup.sh, or $EDGENAS_ORT_LIB). Whatever is
# missing is listed, with how to get it, before anything runs.
#
# compress: int8/int4 against fp32 GEMM on FFN shapes and BERT-mini
# students at seq 128 (internal/qgemm, transformer BenchmarkStudent), then
# the int8 student against ONNX Runtime's int8, one thread everywhere,
# interleaved in one run (transformer/onnx BenchmarkInt8Compare, build tag
# ort, ONNX Runtime from scripts/ort-setup.sh or $EDGENAS_ORT_LIB): ORT's
# dynamic quantization of the student's float model (reproduced by
# onnx.ExportORTDynamic, as no Python onnxruntime is at hand) and the int8
# model edgenas exports. The last line is `int8_vs_ort_int8 R`: the
# median over rounds of edgenas's time over the faster ORT int8 model's in
# the same round (which cancels load that varies during the run), with
# both medians in ms and the CPU.
# agent: what measuring through an agent (devices/agent) on loopback adds:
# a BERT-mini student at seq 128 measured 20 times locally and 20 times
# through an in-process agent, interleaved with a second local device (the
# machine's noise floor); p99 and median of remote/local - 1 of the
# reported medians (target: p99 <= 5 %), the same for local/local, and the
# wall-clock time a remote measurement adds.
# search: search strategies and multi-fidelity evaluation against exhaustive
# evaluation (scripts/searchbench, configs/bench-exhaustive.yaml). The first
# run trains the demo teacher (about a minute and a half) and evaluates
# every one of the space's 2,448 architectures once on this machine
# (accuracy on 125, 250, 500 and all 2000 dev examples, latency, size, and
# the time of each stage) into runs/bench-exhaustive/exhaustive.jsonl, the
# ground truth (15–25 minutes on two cores; interrupted, it resumes); later
# runs replay that table in seconds. It prints, with the CPU, per strategy
# (5 seeds) the hypervolume after 5 % of the space over the exhaustive
# front's, the evaluations to reach 0.9 and 0.95 of it, and the evaluation
# time to reach 0.95 with a fixed subsample, all examples and
# multi-fidelity; the last line is `hv_ratio_default R`.
#
# predictor: the latency predictor (devices/predictor) on the demo search
# space (scripts/predictorbench, configs/bench-predictor.yaml). The first run
# trains the demo teacher if needed and measures 600 distinct sampled
# architectures (pruned, shared, low-rank, fp32/fp16/int8/int4, factorized
# embeddings; build + measure, no accuracy: about a minute) into
# runs/bench-predictor/latency.jsonl, 40 of them a second time (the noise
# floor) and the 120 held out (a seeded 20 %) twice more; later runs reuse
# them. It fits on the other 80 % (one measurement each), prints the
# held-out relative-error histograms against the first measurement and
# against the least of the three (with and without the per-operation lookup
# entries), the noise floor and the time of one prediction against one
# measurement taken in the same run, with the CPU; the line before last is
# `predictor_within_10pct_min3 F` (against the least of three), the last
# `predictor_within_10pct F` (against the single first measurement).
#
# screening: a search with latency-predictor screening (search.screening)
# against the same search without it (scripts/screeningbench,
# configs/demo.yaml, 150 evaluations, seeds 1, 2 and 3, each search in its
# own run directory under runs/bench-screening so none reuses another's
# measurements; a few minutes). It prints each pair's final hypervolume
# and number of latency measurements; the last line is
# `screening_hv_ratio R measurement_reduction X`.
#
# The tables go to stdout; the benchmarks' own output streams to stderr and
# is kept in a file (named at the end) that benchstat can read. Set
# EDGENAS_BENCH_CPU=N to pin the benchmark processes to CPU N with taskset.
set -euo pipefail
cd "$(dirname "$0")/.."

benchmarks="engine compress search quality agent cluster ortdevice predictor screening"

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	cat >&2 <<EOF
usage: bash scripts/bench.sh BENCHMARK [flags]

benchmarks:
  engine [--quick]   GEMM and forward latency: edgenas vs OpenBLAS vs ONNX Runtime
  compress [--quick] int8/int4 vs fp32 GEMM on FFN shapes; BERT-mini students at seq 128:
                     int8 vs fp32 end to end, low-rank latency vs FLOP reduction; one forward
                     pass on 1 vs 2 threads (tiny/mini, fp32/int8/int4, seq 1–512), int4 vs int8;
                     the int8 student against ONNX Runtime's int8 (needs cgo and scripts/ort-setup.sh)
  quality            SST-2 and demo students before and after distillation against their
                     teachers (trains the SST-2 teacher on first use: about half an hour)
  agent [--quick]    remote measurement through an agent on loopback vs the same measurement
                     taken locally (BERT-mini, seq 128): p99 overhead, with local vs local as
                     the noise floor
  ortdevice [flags]  Kendall τ between engine and ONNX Runtime latency of 60 demo students
                     (flags: go run ./scripts/ortbench -h)
  search [flags]     strategies and multi-fidelity against the exhaustively evaluated
                     space of configs/bench-exhaustive.yaml (flags: go run ./scripts/searchbench -h)
  cluster [--quick]  1,000 jobs through the NATS JetStream queue (jobs/s, p99 dispatch latency),
                     and the wall clock of a CPU-bound demo search with 1 vs 2 worker
                     processes (trains the demo teacher on first use: about a minute)
  predictor [flags]  the latency predictor's held-out error on 600 measured demo-space students
                     and one prediction against one measurement (flags: go run ./scripts/predictorbench -h)
  screening [flags]  the demo search with and without latency-predictor screening: hypervolume
                     and measurements (flags: go run ./scripts/screeningbench -h)
EOF
}

# openblas_links reports whether a C program including <cblas.h> links with
# -lopenblas.
openblas_links() {
	local dir ok=1
	dir=$(mktemp -d)
	printf '#include <cblas.h>\nint main(void) { openblas_set_num_threads(1); return 0; }\n' >"$dir/t.c"
	if "${CC:-gcc}" "$dir/t.c" -lopenblas -o "$dir/t" >/dev/null 2>&1; then
		ok=0
	fi
	rm -rf "$dir"
	return $ok
}

# ensure_openblas makes OpenBLAS's header and library available, installing
# libopenblas-dev with apt-get when it runs as root; it returns 1 when they
# are still missing.
ensure_openblas() {
	if openblas_links; then
		return 0
	fi
	if ldconfig -p 2>/dev/null | grep libopenblas >/dev/null; then
		log "the OpenBLAS library is installed but <cblas.h> with -lopenblas does not compile and link (headers missing?)"
	else
		log "OpenBLAS is not installed"
	fi
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "running as root: installing libopenblas-dev with apt-get"
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y libopenblas-dev >&2; then
			apt-get update >&2 || true
			DEBIAN_FRONTEND=noninteractive apt-get install -y libopenblas-dev >&2 || true
		fi
		openblas_links && return 0
	fi
	return 1
}

bench_engine() {
	local quick
	parse_quick engine "$@" || return 0

	local rounds benchtime runs shapes seqs
	if [ $quick -eq 1 ]; then
		rounds=1 benchtime=200ms runs=7
		shapes='128x(128x128|768x3072)' seqs='128'
	else
		rounds=5 benchtime=500ms runs=15
		shapes='128x(128x128|128x512|256x1024|512x2048|768x3072|3072x768)' seqs='(32|128|512)'
	fi

	# Find or install everything first; list all that is missing at once.
	local missing=()
	command -v go >/dev/null 2>&1 || missing+=("Go 1.26 (https://go.dev/dl/)")
	if ! command -v "${CC:-gcc}" >/dev/null 2>&1; then
		if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
			log "no C compiler: installing gcc with apt-get"
			DEBIAN_FRONTEND=noninteractive apt-get install -y gcc >&2 || true
		fi
		command -v "${CC:-gcc}" >/dev/null 2>&1 ||
			missing+=("a C compiler for cgo (${CC:-gcc}): sudo apt-get install -y gcc")
	fi
	if ! command -v "${CC:-gcc}" >/dev/null 2>&1; then
		missing+=("OpenBLAS: not checked without a C compiler (Debian: libopenblas-dev)")
	elif ! ensure_openblas; then
		missing+=("OpenBLAS headers and library: sudo apt-get install -y libopenblas-dev (or any OpenBLAS whose <cblas.h> and -lopenblas the C compiler finds)")
	fi
	if [ -n "${EDGENAS_ORT_LIB:-}" ]; then
		[ -f "$EDGENAS_ORT_LIB" ] || missing+=("ONNX Runtime: EDGENAS_ORT_LIB=$EDGENAS_ORT_LIB does not exist (unset it to install with scripts/ort-setup.sh)")
	elif ! EDGENAS_ORT_LIB=$(bash scripts/ort-setup.sh | tail -n 1) || [ ! -f "$EDGENAS_ORT_LIB" ]; then
		missing+=("ONNX Runtime 1.30: scripts/ort-setup.sh failed (see its messages above); it needs npm, or set EDGENAS_ORT_LIB to a libonnxruntime.so of version 1.24 or later")
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		log "cannot run the engine benchmark; missing:"
		for m in "${missing[@]}"; do
			log "  - $m"
		done
		exit 1
	fi

	# Single-threaded everywhere: OpenBLAS (also set in the benchmark), the
	# Go runtime (-test.cpu 1), ONNX Runtime (session options).
	export EDGENAS_ORT_LIB CGO_ENABLED=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
	local pin
	set_pin

	local work raw
	work=$(mktemp -d "${TMPDIR:-/tmp}/edgenas-bench.XXXXXX")
	raw=$work/engine.txt
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -f '$work/gemm.test' '$work/onnx.test'" EXIT

	log "building the benchmarks (tags openblas ort)"
	go test -c -tags 'openblas ort' -o "$work/gemm.test" ./internal/gemm
	go test -c -tags 'openblas ort' -o "$work/onnx.test" ./transformer/onnx

	# run DIR BINARY PATTERN BENCHTIME runs one benchmark binary from its
	# package directory, as go test would, appending its output to $raw.
	run() {
		(cd "$1" && "${pin[@]}" "$work/$2" -test.run '^$' -test.bench "$3" -test.benchtime "$4" \
			-test.cpu 1 -test.v -test.timeout 30m) 2>&1 | tee -a "$raw" >&2
	}
	local r
	for r in $(seq "$rounds"); do
		log "GEMM round $r of $rounds ($benchtime per benchmark)"
		run internal/gemm gemm.test "^BenchmarkGEMMCompare\$/^$shapes\$" "$benchtime"
		run transformer/onnx onnx.test "^BenchmarkORTMatMul\$/^$shapes\$" "$benchtime"
	done
	log "forward: $runs interleaved runs of each side per case"
	run transformer/onnx onnx.test "^BenchmarkForwardCompare\$/^(tiny|mini)\$/^seq$seqs\$" "${runs}x"

	local table
	table=$(go run ./scripts/benchtable "$raw") || die "could not tabulate $raw"

	echo "edgenas engine benchmark$([ $quick -eq 1 ] && echo ' (--quick: a smoke test, fewer shapes and runs)')"
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(go version | cut -d' ' -f3-), $(getconf _NPROCESSORS_ONLN) CPU(s): $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
	echo "# single-threaded: GOMAXPROCS=1 (-cpu 1), OPENBLAS_NUM_THREADS=1, ORT intra/inter-op threads 1; pinned: ${EDGENAS_BENCH_CPU:-no}"
	echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}; ONNX Runtime library $EDGENAS_ORT_LIB"
	echo "# raw output (benchstat format): $raw"
	printf '%s\n' "$table"
}

# parse_quick NAME ARG... parses the flags every benchmark takes: --quick
# sets the caller's quick to 1 (else 0); -h or --help prints the usage and
# returns 1, and the caller returns 0 without running; anything else is a
# usage error naming benchmark NAME.
parse_quick() {
	local name=$1 arg
	shift
	quick=0
	for arg in "$@"; do
		case "$arg" in
		--quick) quick=1 ;;
		-h | --help)
			usage
			return 1
			;;
		*)
			usage
			die "$name: unknown flag $arg"
			;;
		esac
	done
}

# set_pin sets the caller's pin array to the taskset prefix that pins a
# benchmark process to CPU EDGENAS_BENCH_CPU, empty when it is unset.
set_pin() {
	pin=()
	if [ -n "${EDGENAS_BENCH_CPU:-}" ]; then
		command -v taskset >/dev/null 2>&1 || die "EDGENAS_BENCH_CPU is set but taskset is not installed"
		pin=(taskset -c "$EDGENAS_BENCH_CPU")
	fi
}

# median_ns FILE NAME prints the median ns/op of benchmark NAME (exact,
# without the -N GOMAXPROCS suffix) over the runs in FILE.
median_ns() {
	awk -v name="$2" '$1 == name || $1 ~ "^" name "-[0-9]+$" { for (i = 2; i < NF; i++) if ($(i+1) == "ns/op") print $i }' "$1" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2) }'
}

bench_compress() {
	local quick
	parse_quick compress "$@" || return 0
	command -v go >/dev/null 2>&1 || die "Go 1.26 is needed (https://go.dev/dl/)"
	local count benchtime ortruns
	if [ $quick -eq 1 ]; then
		count=1 benchtime=200ms ortruns=15
	else
		count=5 benchtime=1s ortruns=201
	fi
	# ONNX Runtime's int8 (cgo, build tag ort): found or installed first.
	command -v "${CC:-gcc}" >/dev/null 2>&1 || die "a C compiler for cgo is needed for the ONNX Runtime comparison (${CC:-gcc}): sudo apt-get install -y gcc"
	if [ -n "${EDGENAS_ORT_LIB:-}" ]; then
		[ -f "$EDGENAS_ORT_LIB" ] || die "EDGENAS_ORT_LIB=$EDGENAS_ORT_LIB does not exist (unset it to install with scripts/ort-setup.sh)"
	elif ! EDGENAS_ORT_LIB=$(bash scripts/ort-setup.sh | tail -n 1) || [ ! -f "$EDGENAS_ORT_LIB" ]; then
		die "ONNX Runtime 1.30: scripts/ort-setup.sh failed (see its messages above); it needs npm, or set EDGENAS_ORT_LIB to a libonnxruntime.so of version 1.24 or later"
	fi
	export EDGENAS_ORT_LIB
	local pin
	set_pin
	local work raw
	work=$(mktemp -d "${TMPDIR:-/tmp}/edgenas-bench.XXXXXX")
	raw=$work/compress.txt
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -f '$work/qgemm.test' '$work/transformer.test' '$work/onnx.test'" EXIT
	log "building the benchmarks"
	go test -c -o "$work/qgemm.test" ./internal/qgemm
	go test -c -o "$work/transformer.test" ./transformer
	CGO_ENABLED=1 go test -c -tags ort -o "$work/onnx.test" ./transformer/onnx
	run() {
		(cd "$1" && "${pin[@]}" "$work/$2" -test.run '^$' -test.bench "$3" -test.benchtime "$benchtime" \
			-test.count "$count" -test.cpu 1 -test.timeout 30m) 2>&1 | tee -a "$raw" >&2
	}
	log "GEMM on FFN shapes: int8, int4, fp32 ($count × $benchtime each)"
	run internal/qgemm qgemm.test '^Benchmark(Int8|Int4|FP32)$'
	log "BERT-mini students at seq 128, one thread"
	run transformer transformer.test '^BenchmarkStudent$'
	log "int8 BERT-mini at seq 128 against ONNX Runtime's int8, one thread: $ortruns interleaved rounds"
	(cd transformer/onnx && "${pin[@]}" "$work/onnx.test" -test.run '^$' -test.bench '^BenchmarkInt8Compare$' \
		-test.benchtime "${ortruns}x" -test.cpu 1 -test.timeout 30m) 2>&1 | tee -a "$raw" >&2

	echo "edgenas compress benchmark$([ $quick -eq 1 ] && echo ' (--quick: a smoke test, one run each)')"
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(go version | cut -d' ' -f3-), $(getconf _NPROCESSORS_ONLN) CPU(s): $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
	echo "# single-threaded (-cpu 1), medians of $count runs; pinned: ${EDGENAS_BENCH_CPU:-no}; raw output: $raw"
	local sh f8 f4 f32
	echo "# GEMM MxKxN: fp32 ms, int8 ms (speed-up), int4 ms (speed-up)"
	for sh in 128x256x1024 128x1024x256 128x768x3072 128x3072x768; do
		f32=$(median_ns "$raw" "BenchmarkFP32/$sh") || die "no result for BenchmarkFP32/$sh"
		f8=$(median_ns "$raw" "BenchmarkInt8/$sh") || die "no result for BenchmarkInt8/$sh"
		f4=$(median_ns "$raw" "BenchmarkInt4/$sh") || die "no result for BenchmarkInt4/$sh"
		awk -v s="$sh" -v a="$f32" -v b="$f8" -v c="$f4" 'BEGIN { printf "gemm %-13s fp32 %.3f ms  int8 %.3f ms (%.2fx)  int4 %.3f ms (%.2fx)\n", s, a/1e6, b/1e6, a/b, c/1e6, a/c }'
	done
	local base name ns flops
	base=$(median_ns "$raw" "BenchmarkStudent/mini/seq128/rank0/bits32") || die "no fp32 student result"
	echo "# BERT-mini student, seq 128: latency, speed-up over fp32; low-rank: latency reduction / FLOP reduction"
	for name in rank0/bits32 rank0/bits8 rank0/bits4 rank64/bits32 rank128/bits32 rank64/bits8; do
		ns=$(median_ns "$raw" "BenchmarkStudent/mini/seq128/$name") || die "no result for $name"
		flops=$(awk -v n="BenchmarkStudent/mini/seq128/$name" '$1 == n || $1 ~ "^" n "-[0-9]+$" { for (i = 2; i < NF; i++) if ($(i+1) == "MFLOP/op") { print $i; exit } }' "$raw")
		echo "$name $ns $flops"
	done | awk -v base="$base" '
		NR == 1 { f0 = $3 }
		{ printf "student %-15s %7.3f ms  %.2fx  %6.1f MFLOP", $1, $2/1e6, base/$2, $3
		  if ($3 < f0) printf "  latency -%.1f%% of FLOPs -%.1f%%: %.0f%% delivered", 100*(1-$2/base), 100*(1-$3/f0), 100*(1-$2/base)/(1-$3/f0)
		  printf "\n" }'
	ns=$(median_ns "$raw" "BenchmarkStudent/mini/seq128/rank0/bits8")
	awk -v a="$base" -v b="$ns" 'BEGIN { printf "int8_vs_fp32_end_to_end %.2f\n", a/b }'
	compress_threads "$work" "$count" "$benchtime"
	compress_weights "$work" "$count" "$benchtime"
	echo "# int8 BERT-mini, seq 128, one thread, interleaved in one run (medians, ms [min-max]): edgenas int8;"
	echo "# ort_dynamic = ONNX Runtime's dynamic quantization of the student's float model, reproduced by"
	echo "#   onnx.ExportORTDynamic (com.microsoft DynamicQuantizeMatMul, int8 weights per tensor, uint8"
	echo "#   activations per tensor, attention float: what quantize_dynamic emits after ORT's fusions);"
	echo "# ort_export = the int8 student as edgenas exports it (activations quantized per row as the engine does, MatMulInteger u8·s8)."
	echo "# ONNX Runtime library $EDGENAS_ORT_LIB; CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') ($(grep -m1 -o -w 'amx_int8\|avx512_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//'))"
	awk -v cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')" '$1 ~ /^BenchmarkInt8Compare\/mini\/seq128(-[0-9]+)?$/ {
		for (i = 2; i < NF; i++) v[$(i+1)] = $i
		for (k = 1; k <= 3; k++) {
			s = k == 1 ? "edgenas" : k == 2 ? "ort_dynamic" : "ort_export"
			printf "int8 %-12s %7.3f ms [%.3f-%.3f]\n", s, v[s "_median_ms"], v[s "_min_ms"], v[s "_max_ms"]
		}
		b = v["ort_dynamic_median_ms"] <= v["ort_export_median_ms"] ? "ort_dynamic" : "ort_export"
		printf "# ratio of the medians %.2f; int8_vs_ort_int8 is the median over rounds of edgenas / %s in the same round\n", v["edgenas_median_ms"] / v[b "_median_ms"], b
		printf "int8_vs_ort_int8 %.2f (edgenas %.3f ms, ONNX Runtime int8 (%s) %.3f ms, %d rounds, BERT-mini seq 128, one thread, %s)\n", v["edgenas_over_" b], v["edgenas_median_ms"], b, v[b "_median_ms"], v["runs"], cpu
		found = 1 }
		END { if (!found) exit 1 }' "$raw" || die "no result for BenchmarkInt8Compare"
}

# compress_threads WORK COUNT BENCHTIME is the threads part of `compress`
# (transformer's BenchmarkStudentThreads, built in WORK): whole forward
# passes at batch 1 of BERT-tiny and BERT-mini (fp32, int8 and int4 weights)
# at seq 1, 32, 64, 128 and 512 on one and on two threads of one Session,
# the suite run COUNT times over so that one and two threads are measured
# interleaved. One thread runs pinned to one CPU (EDGENAS_BENCH_CPU, else
# CPU 0; GOMAXPROCS 1), two threads unpinned (GOMAXPROCS 2): a lone thread
# the operating system moves between cores loses its caches, and on this
# 2-core machine measured 2.2–2.5 ms instead of 1.55–1.65 for the int8
# BERT-mini at seq 128, which made two threads look more than twice as
# fast. It prints, with the CPU and
# the load average before and after (other processes on the machine
# depress the two-thread figures), the two-thread speed-up per shape,
# precision and length and the int4/int8 latency ratio of BERT-mini; the
# last lines are int4_vs_int8_seq1, int4_vs_int8_seq64, int4_vs_int8_seq128
# (one thread) and threads2_speedup_fp32, threads2_speedup_int8 (BERT-mini,
# seq 128).
compress_threads() {
	local work=$1 count=$2 benchtime=$3 raw=$1/threads.txt load0 i one=()
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	if command -v taskset >/dev/null 2>&1; then
		one=(taskset -c "${EDGENAS_BENCH_CPU:-0}")
	else
		log "taskset not found (Debian: util-linux): one thread runs unpinned, and its figures suffer when the OS moves it"
	fi
	log "forward passes on 1 and 2 threads: tiny and mini, fp32/int8/int4, seq 1–512 ($count rounds × $benchtime each)"
	for ((i = 0; i < count; i++)); do
		(cd transformer && "${one[@]}" "$work/transformer.test" -test.run '^$' -test.bench '^BenchmarkStudentThreads$/./././^threads1$' \
			-test.benchtime "$benchtime" -test.count 1 -test.cpu 1 -test.timeout 30m) 2>&1 | tee -a "$raw" >&2
		(cd transformer && "$work/transformer.test" -test.run '^$' -test.bench '^BenchmarkStudentThreads$/./././^threads2$' \
			-test.benchtime "$benchtime" -test.count 1 -test.cpu 2 -test.timeout 30m) 2>&1 | tee -a "$raw" >&2
	done
	echo "# threads: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'), $(getconf _NPROCESSORS_ONLN) CPU(s); load average (1, 5, 15 min) before $load0, after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# one forward pass, batch 1, Session threads 1 (GOMAXPROCS 1, pinned: ${one[*]:-no}) and 2 (GOMAXPROCS 2), medians of $count interleaved rounds; raw output: $raw"
	echo "# shape bits seq: 1 thread ms, 2 threads ms, speed-up"
	local shape bits seq t1 t2
	for shape in tiny mini; do
		for bits in 32 8 4; do
			for seq in 1 32 64 128 512; do
				t1=$(median_ns "$raw" "BenchmarkStudentThreads/$shape/bits$bits/seq$seq/threads1") || die "no result for $shape/bits$bits/seq$seq/threads1"
				t2=$(median_ns "$raw" "BenchmarkStudentThreads/$shape/bits$bits/seq$seq/threads2") || die "no result for $shape/bits$bits/seq$seq/threads2"
				awk -v n="$shape bits$bits seq$seq" -v a="$t1" -v b="$t2" 'BEGIN { printf "threads %-20s %8.3f ms  %8.3f ms  %.2fx\n", n, a/1e6, b/1e6, a/b }'
			done
		done
	done
	echo "# BERT-mini, one thread: int4 latency / int8 latency"
	for seq in 1 64 128; do
		t1=$(median_ns "$raw" "BenchmarkStudentThreads/mini/bits8/seq$seq/threads1")
		t2=$(median_ns "$raw" "BenchmarkStudentThreads/mini/bits4/seq$seq/threads1")
		awk -v s="$seq" -v a="$t1" -v b="$t2" 'BEGIN { printf "int4_vs_int8_seq%s %.2f\n", s, b/a }'
	done
	for bits in 32 8; do
		t1=$(median_ns "$raw" "BenchmarkStudentThreads/mini/bits$bits/seq128/threads1")
		t2=$(median_ns "$raw" "BenchmarkStudentThreads/mini/bits$bits/seq128/threads2")
		awk -v n="$([ "$bits" = 32 ] && echo fp32 || echo int8)" -v a="$t1" -v b="$t2" 'BEGIN { printf "threads2_speedup_%s %.2f\n", n, a/b }'
	done
}

# compress_weights WORK COUNT BENCHTIME is the weight-bytes part of
# `compress` (transformer's BenchmarkWeightBytes, built in WORK): the int8
# and int4 BERT-mini students at seq 32, 64 and 128 on one thread, each
# layer with its own weights and every layer sharing the first's (the same
# work on weights that stay in L2), COUNT interleaved rounds, and the int8
# student at seq 64 and 128 on two threads, unpinned
# (BenchmarkWeightBytesThreads). It prints what reading the weights costs
# a pass, and int4_bound_seqN: the int4/int8
# latency ratio a kernel reading int4 could reach at best, if it cost
# nothing over int8's tile products but saved half of int8's weight
# reading, (own − (own − shared)/2) / own of the int8 student.
# weights_row NAME THREADS OWN SHARED prints one weight-bytes line: the
# own and shared medians (ns) and the share of the pass that reading the
# weights costs, (own − shared) / own; THREADS is "" or "threads2 ".
weights_row() {
	awk -v n="$1" -v t="$2" -v a="$3" -v b="$4" 'BEGIN { printf "weights %-12s %sown %7.3f ms  shared %7.3f ms  reading the weights %5.1f%% of the pass\n", n, t, a/1e6, b/1e6, 100*(a-b)/a }'
}

compress_weights() {
	local work=$1 count=$2 benchtime=$3 raw=$1/weights.txt i
	log "weight bytes: int8 and int4 BERT-mini, own vs shared weights, seq 32–128 ($count rounds × $benchtime each)"
	for ((i = 0; i < count; i++)); do
		(cd transformer && "${pin[@]}" "$work/transformer.test" -test.run '^$' -test.bench '^BenchmarkWeightBytes$' \
			-test.benchtime "$benchtime" -test.count 1 -test.cpu 1 -test.timeout 30m) 2>&1 | tee -a "$raw" >&2
	done
	echo "# weight bytes: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'); BERT-mini, one thread, medians of $count interleaved rounds; raw output: $raw"
	echo "# own: every layer its own weights (int8 3.1 MB a pass); shared: every layer the first's (the same work, weights staying in L2)"
	local bits seq own shared
	for bits in 8 4; do
		for seq in 32 64 128; do
			own=$(median_ns "$raw" "BenchmarkWeightBytes/mini/bits$bits/seq$seq/own") || die "no result for bits$bits/seq$seq/own"
			shared=$(median_ns "$raw" "BenchmarkWeightBytes/mini/bits$bits/seq$seq/shared") || die "no result for bits$bits/seq$seq/shared"
			weights_row "bits$bits seq$seq" "" "$own" "$shared"
		done
	done
	log "weight bytes on two threads: int8 BERT-mini, own vs shared weights, seq 64 and 128, unpinned ($count rounds × $benchtime each)"
	for ((i = 0; i < count; i++)); do
		(cd transformer && "$work/transformer.test" -test.run '^$' -test.bench '^BenchmarkWeightBytesThreads$' \
			-test.benchtime "$benchtime" -test.count 1 -test.cpu 2 -test.timeout 30m) 2>&1 | tee -a "$raw" >&2
	done
	echo "# two threads (GOMAXPROCS 2, unpinned): each thread multiplies half the rows by every weight"
	for seq in 64 128; do
		own=$(median_ns "$raw" "BenchmarkWeightBytesThreads/mini/bits8/seq$seq/threads2/own") || die "no result for threads2 seq$seq/own"
		shared=$(median_ns "$raw" "BenchmarkWeightBytesThreads/mini/bits8/seq$seq/threads2/shared") || die "no result for threads2 seq$seq/shared"
		weights_row "bits8 seq$seq" "threads2 " "$own" "$shared"
	done
	echo "# int4_bound_seqN: the best int4/int8 latency ratio a kernel reading int4 weights could reach, if it cost nothing over"
	echo "# int8's tile products and saved half of int8's weight reading: (own - (own - shared)/2) / own of the int8 student"
	for seq in 32 64 128; do
		own=$(median_ns "$raw" "BenchmarkWeightBytes/mini/bits8/seq$seq/own")
		shared=$(median_ns "$raw" "BenchmarkWeightBytes/mini/bits8/seq$seq/shared")
		awk -v s="$seq" -v a="$own" -v b="$shared" 'BEGIN { d = a - b; if (d < 0) d = 0; printf "int4_bound_seq%s %.2f\n", s, (a - d/2)/a }'
	done
}

# bench_quality: the quality targets of distilled fronts. For the SST-2
# teacher (configs/sst2-teacher.yaml, trained from scratch on first use;
# needs EDGENAS_TESTDATA) and the demo teacher: search (configs/sst2-mini.yaml,
# the demo's built-in config), distil the front students that can meet a
# target by speed and size (QUALITY_STEPS steps each, default 3000, and
# QUALITY_DEMO_STEPS for the demo's smaller students, default 10000), then
# print the table of teacher, best compressed and best distilled students.
# Latencies are medians measured in the same run as the teacher's, sizes the
# bytes of the saved students. The last line is
# `quality_sst2_size_x X speed_x Y`: the smallest distilled front student
# within 1 % relative accuracy of the SST-2 teacher.
bench_quality() {
	: "${EDGENAS_TESTDATA:?set EDGENAS_TESTDATA to the test data directory (SST-2)}"
	local steps=${QUALITY_STEPS:-3000} demo_steps=${QUALITY_DEMO_STEPS:-10000} bin keys
	bin=$(mktemp -d)/edgenas
	go build -o "$bin" ./cmd/edgenas
	log "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	log "SST-2: search (trains the teacher first when runs/sst2-teacher holds none)"
	"$bin" search -c configs/sst2-mini.yaml >&2
	keys=$(go run ./scripts/qualitybench select runs/sst2-search)
	log "SST-2: distilling $keys for $steps steps each"
	"$bin" distill runs/sst2-search --select "$keys" --steps "$steps" >&2
	log "demo: search (trains the demo teacher first when runs/demo holds none)"
	"$bin" demo -dir runs/demo -evals 160 >&2
	keys=$(go run ./scripts/qualitybench select runs/demo/search)
	log "demo: distilling $keys for $demo_steps steps each"
	"$bin" distill runs/demo/search --select "$keys" --steps "$demo_steps" >&2
	echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
	go run ./scripts/qualitybench table sst2=runs/sst2-search demo=runs/demo/search
}

bench_agent() {
	local quick # unused: the benchmark is one iteration already
	parse_quick agent "$@" || return 0
	command -v go >/dev/null 2>&1 || die "Go 1.26 is needed (https://go.dev/dl/)"
	local pin
	set_pin
	local work raw
	work=$(mktemp -d "${TMPDIR:-/tmp}/edgenas-bench.XXXXXX")
	raw=$work/agent.txt
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -f '$work/agent.test'" EXIT
	log "building the benchmark"
	go test -c -o "$work/agent.test" ./devices/agent
	log "BERT-mini at seq 128: 20 x (local, agent on loopback, local again), rotating the order"
	(cd devices/agent && "${pin[@]}" "$work/agent.test" -test.run '^$' -test.bench '^BenchmarkRemoteOverhead$' \
		-test.benchtime 1x -test.timeout 30m) 2>&1 | tee -a "$raw" >&2
	echo "edgenas agent benchmark"
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(go version | cut -d' ' -f3-), $(getconf _NPROCESSORS_ONLN) CPU(s): $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
	echo "# reported medians, relative difference in %; pinned: ${EDGENAS_BENCH_CPU:-no}; raw output: $raw"
	awk '$1 ~ /^BenchmarkRemoteOverhead/ {
		for (i = 2; i < NF; i++) v[$(i+1)] = $i
		printf "remote_vs_local  p99 %+.1f%%  median %+.1f%%  (target: p99 <= 5%%)\n", v["p99_overhead_%"], v["median_overhead_%"]
		printf "local_vs_local   p99 %+.1f%%  median %+.1f%%  (noise floor of this machine)\n", v["p99_local_vs_local_%"], v["median_local_vs_local_%"]
		printf "added_wall_ms    %.1f (sending, loading and answering, per measurement)\n", v["median_added_wall_ms"]
		found = 1 }
		END { if (!found) exit 1 }' "$raw" || die "no result for BenchmarkRemoteOverhead"
}

bench_search() {
	command -v go >/dev/null 2>&1 || die "Go 1.26 is needed (https://go.dev/dl/)"
	log "search benchmark: ground truth in runs/bench-exhaustive/exhaustive.jsonl (evaluated on the first run, replayed after)"
	go run ./scripts/searchbench "$@"
}

# bench_cluster runs BenchmarkQueue1000, then the same demo search (a fresh
# run directory each time, 32 evaluations, 2 at a time) coordinated by
# `edgenas search --serve-nats` with 1 and then 2 `edgenas worker`
# processes, and prints both wall clocks and their ratio.
bench_cluster() {
	local quick evals=32
	parse_quick cluster "$@" || return 0
	[ "$quick" -eq 0 ] || evals=12
	command -v go >/dev/null 2>&1 || die "Go 1.26 is needed (https://go.dev/dl/)"
	local work raw bin port=${EDGENAS_BENCH_NATS_PORT:-14222}
	work=$(mktemp -d "${TMPDIR:-/tmp}/edgenas-bench.XXXXXX")
	raw=$work/cluster.txt
	bin=$work/edgenas
	log "building edgenas and the queue benchmark"
	go build -o "$bin" ./cmd/edgenas
	go test -c -o "$work/cluster.test" ./cluster
	log "1,000 jobs through the queue, 2 in-process workers, a trivial evaluator"
	(cd cluster && "$work/cluster.test" -test.run '^$' -test.bench '^BenchmarkQueue1000$' -test.benchtime 3x \
		-test.timeout 30m) 2>&1 | tee -a "$raw" >&2
	sed -e "s#^run_dir: .*#run_dir: RUNDIR#" \
		-e "s#budget: {.*}#budget: {max_evaluations: $evals, patience: -1}#" \
		-e "s#parallelism: 1#parallelism: 2#" \
		-e "s#local: {.*}#local: {max_attempts: 1, no_reference: true}#" configs/demo.yaml >"$work/base.yaml"
	local workers secs=()
	for workers in 1 2; do
		sed "s#RUNDIR#$work/run$workers#" "$work/base.yaml" >"$work/search$workers.yaml"
		log "demo search of $evals evaluations with $workers worker process(es)"
		local t0 t1 pids=() spid
		t0=$(date +%s.%N)
		"$bin" search -c "$work/search$workers.yaml" --serve-nats "127.0.0.1:$port" >"$work/front$workers.txt" 2>"$work/search$workers.log" &
		spid=$!
		# Workers start once the search serves NATS (the teacher is trained by then).
		until grep -q '^nats: serving workers' "$work/search$workers.log" 2>/dev/null; do
			kill -0 "$spid" 2>/dev/null || die "the search stopped: $(tail -5 "$work/search$workers.log")"
			sleep 0.2
		done
		for ((i = 0; i < workers; i++)); do
			"$bin" worker --nats "nats://127.0.0.1:$port" -c "$work/search$workers.yaml" 2>"$work/worker$workers-$i.log" &
			pids+=($!)
		done
		wait "$spid" || die "the search failed: $(tail -5 "$work/search$workers.log")"
		t1=$(date +%s.%N)
		kill "${pids[@]}" 2>/dev/null
		wait "${pids[@]}" 2>/dev/null
		secs+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	done
	echo "edgenas cluster benchmark"
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(go version | cut -d' ' -f3-), $(getconf _NPROCESSORS_ONLN) CPU(s): $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null); raw output: $work"
	awk '$1 ~ /^BenchmarkQueue1000/ {
		for (i = 2; i < NF; i++) v[$(i+1)] = $i
		printf "queue_1000_jobs  %.0f jobs/s  p99 dispatch %.1f ms (64 in flight, 2 workers)\n", v["jobs/s"], v["p99_ms"]
		found = 1 }
		END { if (!found) exit 1 }' "$raw" || die "no result for BenchmarkQueue1000"
	printf 'search_%d_evals  1 worker %.1f s  2 workers %.1f s  speed-up %.2fx\n' "$evals" "${secs[0]}" "${secs[1]}" "$(awk -v a="${secs[0]}" -v b="${secs[1]}" 'BEGIN { print a / b }')"
}

bench_predictor() {
	command -v go >/dev/null 2>&1 || die "Go 1.26 is needed (https://go.dev/dl/)"
	log "predictor benchmark: measurements in runs/bench-predictor/latency.jsonl (measured on the first run, reused after)"
	go run ./scripts/predictorbench "$@"
}

bench_screening() {
	command -v go >/dev/null 2>&1 || die "Go 1.26 is needed (https://go.dev/dl/)"
	log "screening benchmark: searches in runs/bench-screening (resumed when interrupted)"
	go run ./scripts/screeningbench "$@"
}

case "${1:-}" in
ortdevice)
	shift
	bash scripts/ort-setup.sh >/dev/null
	go run ./scripts/ortbench "$@"
	;;
cluster)
	shift
	bench_cluster "$@"
	;;
screening)
	shift
	bench_screening "$@"
	;;
predictor)
	shift
	bench_predictor "$@"
	;;
search)
	shift
	bench_search "$@"
	;;
quality)
	shift
	bench_quality "$@"
	;;
agent)
	shift
	bench_agent "$@"
	;;
engine)
	shift
	bench_engine "$@"
	;;
compress)
	shift
	bench_compress "$@"
	;;
"" | -h | --help)
	usage
	exit 2
	;;
*)
	printf 'unknown benchmark: %s (available: %s)\n' "$1" "$benchmarks" >&2
	usage
	exit 2
	;;
esac
