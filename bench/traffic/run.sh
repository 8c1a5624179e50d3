#!/usr/bin/env bash
# The traffic a broadcast causes, against the local server with its [api] route limits
# (make bench-traffic; BENCHMARKS.md "The traffic a broadcast causes").
#
# While mail goes out at S a second, the tracking routes get (kindling::api::limits):
# the pixel 0.6 S, the links 2 S, the preference page 0.4 S, the one-click POST 0.02 S.
# A 100,000-recipient broadcast at S = 100 sends for 1,000 s at these rates; this runs them for
# DURATION seconds with hey (one signed URL of the demo's mails per route), then the links at
# OVERLOAD times their traffic, to show the limit holds. Needs hey (Debian: apt-get install hey).
set -euo pipefail

SEND_RATE=${SEND_RATE:-100}
DURATION=${DURATION:-30}
OVERLOAD=${OVERLOAD:-3}
PORT=${PORT:-18787}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v hey >/dev/null || { echo "bench-traffic: needs hey (apt-get install hey)" >&2; exit 1; }
cd "$ROOT"
cargo build --release --quiet -p kindling-local --bin kindling
KINDLING="$ROOT/target/release/kindling"
"$KINDLING" demo --data-dir "$WORK/data" > /dev/null

# One URL of each kind from the demo's outbox (quoted-printable decoded by Python's parser).
python3 - "$WORK/data/outbox" > "$WORK/urls" <<'PY'
import email, email.policy, glob, re, sys
found = {}
for path in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()
    for kind, pat in (("pixel", r"/t/o/[^\"'>\s]+"), ("click", r"/t/c/[^\"'>\s]+"), ("page", r"/u/[^\"'>\s]+")):
        m = re.search(pat, html)
        if m and kind not in found:
            found[kind] = m.group(0)
for kind in ("pixel", "click", "page"):
    print(kind, found[kind])
PY
url() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/urls"; }

"$KINDLING" serve --data-dir "$WORK/data" --port "$PORT" --tick-seconds 3600 --site /nonexistent \
  > "$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$PORT/kindling.js" > /dev/null 2>&1 && break
  sleep 0.1
done
BASE="http://127.0.0.1:$PORT"

# hey paces each worker (-q per worker): rate = workers × per-worker rate.
run() { # name rate path [hey args...]
  local name=$1 rate=$2 path=$3; shift 3
  local workers=$(( (rate + 9) / 10 ))
  local per=$(python3 -c "print(round($rate / $workers, 2))")
  hey -z "${DURATION}s" -c "$workers" -q "$per" "$@" "$BASE$path" > "$WORK/$name.out" 2>&1
}
summary() { # name target
  python3 - "$WORK/$1.out" "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
codes = dict((c, int(n)) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", text))
total = sum(codes.values())
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
pct = dict(re.findall(r"(\d+)%% in ([\d.]+) secs".replace("%%", "%"), text))
ms = lambda p: f"{float(pct[p]) * 1000:.1f}" if p in pct else "n/a"
print(f"| {sys.argv[2]} | {float(sys.argv[3]):.0f} | {rps:.1f} | {total} | {codes.get('429', 0)} | "
      f"{sum(n for c, n in codes.items() if c.startswith('5'))} | {ms('50')} | {ms('99')} |")
PY
}

r() { python3 -c "import math; print(max(1, math.ceil($1 * $SEND_RATE)))"; }
PIXEL=$(r 0.6) CLICK=$(r 2.0) PAGE=$(r 0.4) POST=$(r 0.02)
echo "send rate $SEND_RATE/s, ${DURATION}s per run, all four routes at once"
PIDS=()
run pixel "$PIXEL" "$(url pixel)" & PIDS+=($!)
run click "$CLICK" "$(url click)" -disable-redirects & PIDS+=($!)
run page "$PAGE" "$(url page)" & PIDS+=($!)
run one_click "$POST" "$(url page)" -m POST -T application/x-www-form-urlencoded \
  -d "List-Unsubscribe=One-Click" & PIDS+=($!)
wait "${PIDS[@]}"
echo "| route | target req/s | served req/s | requests | 429 | 5xx | p50 ms | p99 ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
summary pixel "$PIXEL"
summary click "$CLICK"
summary page "$PAGE"
summary one_click "$POST"
OVER=$(( CLICK * OVERLOAD ))
run click_overload "$OVER" "$(url click)" -disable-redirects
summary click_overload "$OVER"
