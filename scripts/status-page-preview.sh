#!/usr/bin/env bash
# Dev preview of the status page (src/http/status_page.html) without running the processor:
# serves the page at / and a canned, slowly growing GET /api/status from python3's http.server
# on 127.0.0.1, for eyeballing the page or taking a screenshot.
#
#   scripts/status-page-preview.sh [PORT]      # default port 8765; 0 = any free port
#   STATIC=1 scripts/status-page-preview.sh    # frozen snapshot (same numbers on every request)
#
# Without STATIC, every request to /api/status advances the canned clock by 2 s (the page's
# refresh period) and the rates wobble a little, so the throughput chart has a shape even under
# chromium's --virtual-time-budget.
#   KAFKA=1 scripts/status-page-preview.sh     # kafka source with consumer lag rows
#
# Prints `preview at http://127.0.0.1:PORT/` once listening; stop it with Ctrl-C.
# The canned data includes hostile-looking schema names and raw events (HTML tags) to check
# that the page shows them as text.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${1:-${PORT:-8765}}"
PAGE="src/http/status_page.html"
[[ -f "$PAGE" ]] || { echo "missing $PAGE" >&2; exit 1; }

exec python3 - "$PORT" "$PAGE" <<'PY'
import itertools
import json
import math
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
page_path = sys.argv[2]
static = os.environ.get("STATIC") == "1"
kafka = os.environ.get("KAFKA") == "1"
ticks = itertools.count()

# (schema, valid events per second, invalid events per second)
SCHEMAS = [
    ("NavigationTiming", 41.0, 0.4),
    ("Echo", 18.5, 1.6),
    ("SearchSatisfaction", 12.0, 0.9),
    ("EditAttemptStep", 6.5, 0.1),
    ("<b>Injected</b>", 0.0, 0.3),
    (None, 0.0, 1.2),
]
# (reason, share of the invalid events)
REASONS = [
    ("validation", 0.55),
    ("parse", 0.25),
    ("schema_unknown", 0.12),
    ("json", 0.05),
    ("ua_too_long", 0.03),
]


def status():
    # Static mode: a fixed snapshot of the first minute; otherwise each request is 2 s later.
    tick = 0 if static else next(ticks)
    elapsed = 60.0 + 2.0 * tick
    wobble = 1.0 if static else 1.0 + 0.25 * math.sin(tick / 2.0)
    schemas = []
    valid_total = invalid_total = 0
    for name, valid_rate, invalid_rate in SCHEMAS:
        valid = int(valid_rate * elapsed)
        invalid = int(invalid_rate * elapsed)
        valid_total += valid
        invalid_total += invalid
        row = {"valid": valid, "invalid": invalid, "valid_per_second": round(valid_rate * wobble, 1)}
        if name is not None:
            row["schema"] = name
        schemas.append(row)
    lines = valid_total + invalid_total
    reasons = []
    left = invalid_total
    for i, (reason, share) in enumerate(REASONS):
        count = left if i == len(REASONS) - 1 else int(invalid_total * share)
        left -= count
        reasons.append({"reason": reason, "count": count})
    reasons.sort(key=lambda r: -r["count"])
    valid_rate = round(sum(s[1] for s in SCHEMAS) * wobble, 1)
    invalid_rate = round(sum(s[2] for s in SCHEMAS) * (2.0 - wobble), 1)
    raw = ('?%7B%22event%22%3A%7B%22notificationType%22%3A5%7D%2C%22revision%22%3A7731316%2C'
           '%22schema%22%3A%22Echo%22%7D;\tcp3030.esams.wmnet\t12345\t2026-11-22T05:00:00\t'
           '192.0.2.1\t"Mozilla/5.0 (X11; Linux x86_64) <script>alert(1)</script>"')
    recent = [
        {"at": "2026-11-22T05:00:02.481Z", "reason": "validation", "schema": "Echo",
         "message": "/event/notificationType: 5 is not of type \"string\"",
         "raw_event": raw[:300]},
        {"at": "2026-11-22T05:00:01.907Z", "reason": "parse", "schema": None,
         "message": "line does not match the format %q %{recvFrom}s %{seqId}d %D %{ip}i %u",
         "raw_event": "garbage <img src=x onerror=alert(1)>"},
        {"at": "2026-11-22T05:00:01.112Z", "reason": "schema_unknown", "schema": "<b>Injected</b>",
         "message": "schema <b>Injected</b> revision 1 not found",
         "raw_event": "?%7B%22schema%22%3A%22%3Cb%3EInjected%3C%2Fb%3E%22%7D;" + "x" * 260 + "…"},
    ]
    topics = [{"topic": "eventlogging_" + name, "events": int(v * elapsed)}
              for name, v, _ in SCHEMAS if name is not None and v > 0]
    topics.append({"topic": "eventlogging_EventError", "events": invalid_total})
    lag = []
    if kafka:
        lag = [{"topic": "eventlogging-client-side", "partition": p, "lag": lagv}
               for p, lagv in enumerate([42, 0, 1337, 7])]
    return {
        "version": "0.1.0",
        "uptime_seconds": round(elapsed, 1),
        "ready": True,
        "source": "kafka" if kafka else "files",
        "sink": "kafka" if kafka else "directory",
        "totals": {"lines": lines, "valid": valid_total, "invalid": invalid_total},
        "rates": {"lines_per_second": valid_rate + invalid_rate,
                  "valid_per_second": valid_rate, "invalid_per_second": invalid_rate},
        "error_rate": invalid_total / lines if lines else 0,
        "schemas": schemas,
        "error_reasons": reasons,
        "recent_errors": recent,
        "lag": lag,
        "topics": topics,
    }


class Handler(BaseHTTPRequestHandler):
    def send(self, code, content_type, body):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/":
            with open(page_path, "rb") as f:
                self.send(200, "text/html; charset=utf-8", f.read())
        elif path == "/api/status":
            self.send(200, "application/json", json.dumps(status()).encode())
        elif path in ("/healthz", "/ready"):
            self.send(200, "text/plain; charset=utf-8", b"ok\n")
        else:
            self.send(404, "text/plain; charset=utf-8", b"not found\n")

    def log_message(self, fmt, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(f"preview at http://127.0.0.1:{server.server_address[1]}/", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
PY
