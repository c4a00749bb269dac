#!/usr/bin/env bash
# Checks the operator assets with Prometheus' own tool:
#   1. `promtool check rules` on the alerting rules (syntax, PromQL, templates);
#   2. `promtool test rules` on their unit tests (which alerts fire, with which labels/annotations);
#   3. every PromQL expression of the Grafana dashboard, with its template variables replaced,
#      parsed by `promtool check rules` as a recording rule (catches PromQL typos in panels).
# The structure of both files (known metric names, required fields) is checked by
# `cargo test --test dashboard`.
#
# Needs promtool (Debian: `apt-get install -y --no-install-recommends prometheus`) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v promtool >/dev/null || {
    echo "promtool not found: apt-get install -y --no-install-recommends prometheus" >&2
    exit 1
}
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

RULES=config/prometheus/beacon-processor-alerts.yaml
RULE_TESTS=config/prometheus/beacon-processor-alerts.test.yaml
DASHBOARD=config/grafana/beacon-processor.json

echo "== promtool check rules $RULES"
promtool check rules "$RULES"

echo "== promtool test rules $RULE_TESTS"
# promtool resolves rule_files relative to the working directory.
(cd "$(dirname "$RULE_TESTS")" && promtool test rules "$(basename "$RULE_TESTS")")

echo "== PromQL of $DASHBOARD"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
python3 - "$DASHBOARD" "$scratch/dashboard-queries.yaml" <<'PY'
import json
import sys

dashboard_path, out_path = sys.argv[1], sys.argv[2]
with open(dashboard_path) as f:
    dashboard = json.load(f)

# Template variables as Grafana would substitute them.
substitutions = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$job": "beacon-processor",
    "$instance": ".+",
    "$top": "10",
}


def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


rules = []
for panel in panels(dashboard.get("panels", [])):
    for target in panel.get("targets", []):
        expr = target.get("expr", "")
        for variable in sorted(substitutions, key=len, reverse=True):
            expr = expr.replace(variable, substitutions[variable])
        if "$" in expr:
            sys.exit(f"panel {panel.get('title')!r}: unknown template variable in {expr!r}")
        rules.append((panel.get("title", "?"), target.get("refId", "?"), expr))

with open(out_path, "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, ref, expr) in enumerate(rules):
        out.write(f"      # {title} / {ref}\n")
        out.write(f"      - record: dashboard:query_{i}\n")
        out.write(f"        expr: {json.dumps(expr)}\n")
print(f"{len(rules)} queries")
PY
promtool check rules "$scratch/dashboard-queries.yaml"

echo "ops assets OK"
