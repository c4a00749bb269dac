#!/usr/bin/env bash
# CI fuzz smoke: every fuzz target for a few seconds (default 10 per target) from the committed
# seeds, after an unoptimised (`--dev`) build, which is much quicker to build than the optimised
# one of the long runs. Installs cargo-fuzz if needed; exits non-zero on any crash.
# The long runs are `scripts/fuzz.sh [SECONDS_PER_TARGET]` (docs/FUZZING.md).
#
# Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD_ARGS=${FUZZ_BUILD_ARGS:---dev} exec scripts/fuzz.sh "${1:-10}"
