#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and reports, per target, the number of
# executions and whether a crash was found. Exits non-zero when any target crashed (or failed to
# run). See docs/FUZZING.md.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
#
# Environment:
#   FUZZ_TARGETS      targets to run, space-separated (default: all four)
#   FUZZ_BUILD_ARGS   extra `cargo fuzz build/run` arguments, e.g. `--dev` for a quick unoptimised
#                     build (the CI smoke run)
#   FUZZ_MAX_LEN      libFuzzer -max_len (default 4096 bytes)
#
# Works on the stable toolchain: cargo-fuzz's nightly-only flags are allowed by RUSTC_BOOTSTRAP=1.
# Installs cargo-fuzz (`cargo install cargo-fuzz --locked`) when it is missing. Each target fuzzes
# fuzz/corpus/<target>/ (grown by the run, not committed) seeded from fuzz/seeds/<target>/
# (committed), with the dictionary fuzz/dict/<beacon|checkpoint>.dict; crashing inputs land in
# fuzz/artifacts/<target>/ and the libFuzzer log in fuzz/target/fuzz-logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]  (a whole number of seconds, default 60)" >&2
    exit 2
fi
read -r -a targets <<<"${FUZZ_TARGETS:-line_format qson_decode process_line checkpoint_loader}"
read -r -a build_args <<<"${FUZZ_BUILD_ARGS:-}"
max_len=${FUZZ_MAX_LEN:-4096}
# No sanitizer: the bundled librdkafka's configure step cannot link against the
# AddressSanitizer-instrumented zstd that `-s address` produces. The code under test is safe Rust:
# panics, arithmetic overflow (debug assertions are on), timeouts and out-of-memory are what the
# targets detect.
sanitizer=(--sanitizer none)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "== building fuzz targets (${targets[*]})"
cargo fuzz build "${sanitizer[@]}" "${build_args[@]}"

logs=fuzz/target/fuzz-logs
mkdir -p "$logs"
failed=0
summary=()
for target in "${targets[@]}"; do
    case $target in
    checkpoint_loader) dict=fuzz/dict/checkpoint.dict ;;
    *) dict=fuzz/dict/beacon.dict ;;
    esac
    corpus=fuzz/corpus/$target
    seeds=fuzz/seeds/$target
    artifacts=fuzz/artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    before=$(find "$artifacts" -type f | sort)
    log=$logs/$target.log
    echo "== fuzzing $target for ${seconds}s (log: $log)"
    status=0
    cargo fuzz run "${sanitizer[@]}" "${build_args[@]}" "$target" "$corpus" "$seeds" -- \
        -max_total_time="$seconds" -dict="$dict" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
    after=$(find "$artifacts" -type f | sort)
    new_artifacts=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    corpus_size=$(find "$corpus" -type f | wc -l)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
    if [[ -n $new_artifacts ]]; then
        failed=1
        result="CRASH: $(echo "$new_artifacts" | tr '\n' ' ')"
        echo "---- last lines of $log"
        tail -n 40 "$log"
    elif [[ $status -ne 0 ]]; then
        failed=1
        result="FAILED to run (exit status $status, no crash input saved)"
        echo "---- last lines of $log"
        tail -n 40 "$log"
    else
        result="no crash"
    fi
    line=$(printf '%-18s %12s executions  %7s exec/s  coverage %6s  corpus %5s  %s' \
        "$target" "${execs:-?}" "${rate:-?}" "${coverage:-?}" "$corpus_size" "$result")
    echo "$line"
    summary+=("$line")
done

echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
