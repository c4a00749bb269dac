#!/usr/bin/env bash
# The HTTP intake against its OpenAPI description (docs/openapi.yaml), with schemathesis (PyPI;
# installed into a virtual environment under ~/.cache/beacon-processor if missing): generated
# requests, valid and invalid, to a live `run` on loopback (directory sink, the repository's
# schemas and streams). Fails on any 5xx and on any response the description does not allow
# (status, content type, headers, body schema). Bounded: MAX_EXAMPLES per operation (default 50).
#
# Usage: scripts/api-conformance.sh [BINARY, default target/debug/beacon-processor]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
bin="${1:-${CARGO_TARGET_DIR:-$repo/target}/debug/beacon-processor}"
[ -x "$bin" ] || cargo build --quiet
work="$(mktemp -d "${TMPDIR:-/tmp}/api-conformance.XXXXXX")"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

venv="$HOME/.cache/beacon-processor/schemathesis-venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "installing schemathesis into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

cat >"$work/intake.yaml" <<YAML
input:
  type: http
  listen: 127.0.0.1:0
  test_events:
    - {"\$schema": "/test/event/1.0.0", "meta": {"stream": "test.event"}, "test": "canary"}
output:
  type: directory
  path: "$work/out"
schemas:
  legacy_dirs: ["$repo/config/schemas"]
  event_repositories: ["$repo/config/event-schemas"]
streams:
  config: "$repo/config/stream-config.yaml"
http:
  listen: null
logging:
  level: info
YAML
"$bin" run --config "$work/intake.yaml" 2>"$work/intake.log" &
pid=$!
address=""
for _ in $(seq 200); do
    address=$(sed -n 's/.*HTTP intake listening (POST \/v1\/events) address=\([0-9.:]*\).*/\1/p' "$work/intake.log" | head -1)
    [ -n "$address" ] && break
    sleep 0.05
done
if [ -z "$address" ]; then echo "the intake did not start:" >&2; cat "$work/intake.log" >&2; exit 1; fi

"$venv/bin/schemathesis" run "$repo/docs/openapi.yaml" --url "http://$address" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "${MAX_EXAMPLES:-50}" --generation-deterministic --no-color
