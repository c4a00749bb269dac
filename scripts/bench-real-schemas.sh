#!/usr/bin/env bash
# CPU per line of the log path with Wikimedia's real Event Platform schemas, against the
# repository's sample schema in the same run.
#
# Takes checkouts of wikimedia/schemas-event-primary and -secondary (any commit that still has
# the `jsonschema/` tree; their last GitHub commits only say the repositories moved), builds a
# corpus of beacon lines from every materialized version's `examples` (round-robin over the
# versions, so events of hundreds of schemas are interleaved, as in production), plus the same
# lines grouped by schema, and times `process` of each with the release binary:
#   - sample:      `generate --event-platform-percent 100` (test/event only), the baseline;
#   - real:        the interleaved corpus;
#   - real-grouped: the same lines sorted by schema (same work, schema locality);
#   - start-up:    one line per schema version (compiling every schema once), subtracted from
#                  the two real rows to give the steady-state cost a daemon sees.
# Prints CPU (user + system) µs per line for each, the median of ROUNDS rounds, and the ratio
# to the baseline. Needs python3 with PyYAML (the schemas are YAML).
#
# Usage: [BIN=other-build] scripts/bench-real-schemas.sh PRIMARY_DIR SECONDARY_DIR [LINES=200000] [ROUNDS=3]
set -euo pipefail

primary="$(cd "${1:?usage: $0 PRIMARY_DIR SECONDARY_DIR [LINES] [ROUNDS]}" && pwd)"
secondary="$(cd "${2:?usage: $0 PRIMARY_DIR SECONDARY_DIR [LINES] [ROUNDS]}" && pwd)"
lines="${3:-200000}"
rounds="${4:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
python3 -c "import yaml" 2>/dev/null || { echo "needs PyYAML: pip install pyyaml" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-real-schemas.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [ -n "${BIN:-}" ]; then
    bin="$BIN"   # another build to compare, e.g. one of an earlier commit
else
    cargo build --release --quiet
    bin="${CARGO_TARGET_DIR:-$repo/target}/release/beacon-processor"
fi

"$bin" generate -n "$lines" --seed 7 --invalid-percent 0 --malformed-percent 0 \
    --event-platform-percent 100 --schemas config/schemas -o "$work/sample.log" 2>/dev/null

python3 - "$work" "$lines" "$primary" "$secondary" "$repo" <<'PY'
import glob, json, os, random, re, sys, urllib.parse
import yaml
work, lines, primary, secondary, repo = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]

class Loader(yaml.SafeLoader):
    pass
# Dates in examples stay strings, as in the events clients send.
Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}

def versions(root):
    base = os.path.join(root, "jsonschema")
    for path in sorted(glob.glob(base + "/**/*.yaml", recursive=True)):
        if re.fullmatch(r"\d+\.\d+\.\d+\.yaml", os.path.basename(path)) and not os.path.islink(path):
            yield "/" + os.path.relpath(path, base)[:-5], path

# Versions the repository's own config/event-schemas has are searched there first: leave them out.
own = {p for p, _ in versions(os.path.join(repo, "config/event-schemas"))}
schemas = []
for root in (primary, secondary):
    for uri, path in versions(root):
        if uri.startswith("/fragment") or uri in own:
            continue
        doc = yaml.load(open(path), Loader=Loader)
        examples = [e for e in (doc.get("examples") or []) if isinstance(e, dict)]
        if doc.get("title") and examples:
            schemas.append((uri, doc["title"], examples))
if not schemas:
    sys.exit("no schema versions with examples under jsonschema/ of the two directories")

def stream(title):
    return "bench." + title.replace("/", ".")

def encode(text):  # JavaScript's encodeURIComponent
    return urllib.parse.quote(text, safe="-_.!~*'()")

events = {}
for uri, title, examples in schemas:
    for example in examples:
        event = json.loads(json.dumps(example))
        event["$schema"] = uri
        meta = event.setdefault("meta", {})
        if isinstance(meta, dict):
            meta["stream"] = stream(title)
            events.setdefault(uri, []).append(json.dumps(event, separators=(",", ":"), ensure_ascii=False))
tails = [l.rstrip("\n").split("\t", 1)[1] for l in open(os.path.join(work, "sample.log"))]
keys = list(events)
rng = random.Random(1)
corpus = []
for i in range(lines):
    if i % len(keys) == 0:
        rng.shuffle(keys)
    chosen = events[keys[i % len(keys)]]
    corpus.append((keys[i % len(keys)], "?%s;\t%s" % (encode(chosen[(i // len(keys)) % len(chosen)]), tails[i % len(tails)])))
open(os.path.join(work, "real.log"), "w").write("".join(l + "\n" for _, l in corpus))
open(os.path.join(work, "real-grouped.log"), "w").write(
    "".join(l + "\n" for _, l in sorted(corpus, key=lambda c: c[0])))
first = {}
for uri, line in corpus:
    first.setdefault(uri, line)
open(os.path.join(work, "start-up.log"), "w").write("".join(l + "\n" for l in first.values()))
with open(os.path.join(work, "streams.yaml"), "w") as f:
    f.write(open(os.path.join(repo, "config/stream-config.yaml")).read())
    f.write("\n")
    for title in sorted({t for _, t, _ in schemas}):
        f.write("%s:\n  schema_title: %s\n" % (stream(title), title))
print("%d schema versions with examples (%d titles); %d lines" % (len(events), len({t for _, t, _ in schemas}), lines), file=sys.stderr)
PY

head -n 1 "$work/sample.log" >"$work/sample-start-up.log"

cat >"$work/config.yaml" <<YAML
format: "%q %{recvFrom}s %{seqId}d %D %{ip}i %u"
input:
  type: stdin
output:
  type: directory
  path: out
schemas:
  legacy_dirs: ["$repo/config/schemas"]
  event_repositories: ["$repo/config/event-schemas", "$primary", "$secondary"]
streams:
  config: "$work/streams.yaml"
logging:
  level: warn
YAML

cpu_us_per_line() { # CORPUS -> µs of CPU per line (whole run, start-up included); checks the counts
    local corpus="$1" out="$work/out-run" n
    rm -rf "$out"
    /usr/bin/time -f "%U %S" -o "$work/time" "$bin" --log-level error process -c "$work/config.yaml" \
        --out "$out" "$corpus" 2>/dev/null
    n=$(wc -l <"$corpus")
    if [ -e "$out/beacon-processor.error.validation.jsonl" ] || [ -e "$out/eventlogging_EventError.jsonl" ]; then
        echo "WARNING: $corpus produced error events; the figure measures the error path too" >&2
    fi
    awk -v n="$n" '{ printf "%.3f", ($1 + $2) * 1e6 / n }' "$work/time"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A runs
for round in $(seq 1 "$rounds"); do
    for corpus in sample real real-grouped start-up sample-start-up; do
        runs[$corpus]+=" $(cpu_us_per_line "$work/$corpus.log")"
    done
done
# A start-up run's whole CPU spread over the big corpus: the fixed cost per line to subtract.
fixed_per_line() { # START-UP-CORPUS-NAME
    local n
    n=$(wc -l <"$work/$1.log")
    echo "${runs[$1]}" | median | awk -v n="$n" -v lines="$lines" '{ print $1 * n / lines }'
}
sample=$(echo "${runs[sample]}" | median)
sample_fixed=$(fixed_per_line sample-start-up)
real_fixed=$(fixed_per_line start-up)
sample_steady=$(echo "$sample - $sample_fixed" | bc -l)
printf "%-36s %10s %10s\n" "corpus ($lines lines)" "µs/line" "vs sample"
for corpus in sample real real-grouped; do
    m=$(echo "${runs[$corpus]}" | median)
    printf "%-36s %10.2f %10.2f   (runs:%s)\n" "$corpus" "$m" "$(echo "$m / $sample" | bc -l)" "${runs[$corpus]}"
done
printf "%-36s %10.2f %10.2f\n" "sample, start-up removed" "$sample_steady" 1
for corpus in real real-grouped; do
    m=$(echo "${runs[$corpus]}" | median)
    printf "%-36s %10.2f %10.2f\n" "$corpus, start-up removed" "$(echo "$m - $real_fixed" | bc -l)" \
        "$(echo "($m - $real_fixed) / $sample_steady" | bc -l)"
done
printf "start-up with every real schema version compiled once: %.2f µs per line of %s (sample: %.2f)\n" \
    "$real_fixed" "$lines" "$sample_fixed"
