#!/usr/bin/env bash
# Profile-guided release build of beacon-processor (LLVM PGO), for deployment:
#   1. build an instrumented binary (target/pgo-generate);
#   2. run it on generated training lines: `process` to a directory (legacy lines with the
#      generator's default mix) and once more with 30 % Event Platform events;
#   3. merge the profiles with the toolchain's llvm-profdata (rustup component llvm-tools);
#   4. build the optimised binary with the profile (target/pgo/release/beacon-processor).
# The ordinary `cargo build --release` is unaffected. Takes two full release builds.
#
# Usage: scripts/build-pgo.sh [training lines, default 300000]
set -euo pipefail

lines="${1:-300000}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/build-pgo.XXXXXX")"
trap 'rm -rf "$work"' EXIT

sysroot="$(rustc --print sysroot)"
host="$(rustc -vV | sed -n 's/^host: //p')"
profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    echo "installing the llvm-tools component (for llvm-profdata)" >&2
    rustup component add llvm-tools
fi

# Fixed paths for the profiles: a RUSTFLAGS change rebuilds everything, a stable one does not.
profiles="$repo/target/pgo-generate/profiles"
merged="$repo/target/pgo-generate/merged.profdata"
rm -rf "$profiles" "$merged"

echo "== 1. instrumented build" >&2
RUSTFLAGS="-Cprofile-generate=$profiles" \
    cargo build --release --locked --quiet --target-dir "$repo/target/pgo-generate"
instrumented="$repo/target/pgo-generate/release/beacon-processor"

echo "== 2. training run ($lines lines)" >&2
"$instrumented" generate -n "$lines" --seed 11 -o "$work/legacy.log"
"$instrumented" generate -n "$((lines / 3))" --seed 12 --event-platform-percent 30 -o "$work/mixed.log"
"$instrumented" process --log-level error --out "$work/out1" "$work/legacy.log" >/dev/null 2>&1
"$instrumented" process --log-level error --out "$work/out2" "$work/mixed.log" >/dev/null 2>&1

echo "== 3. merge" >&2
"$profdata" merge -o "$merged" "$profiles"

echo "== 4. optimised build" >&2
RUSTFLAGS="-Cprofile-use=$merged" \
    cargo build --release --locked --quiet --target-dir "$repo/target/pgo"
echo "built $repo/target/pgo/release/beacon-processor" >&2
