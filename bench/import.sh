#!/usr/bin/env bash
# How long the shop's writes wait while `import orders` loads a large file on SQLite
# (issue 12, item 5): `placeOrder` (a STORE sale of one unit) and `recordStockDelivery`
# (one unit), alternately every BENCH_PROBE_INTERVAL seconds over HTTP, first on an idle
# server (the baseline of the same run), then while `solidarity-market import orders`
# writes a BENCH_IMPORT_LINES-line file (1,000,000 by default) into the same database.
#
#   bash bench/import.sh                                   # this tree only
#   BENCH_BASELINE_BIN=/path/to/old/solidarity-market bash bench/import.sh
#                                                          # ... and an older binary first
#
# For each binary: a fresh SQLite file with `seed --profile market` (424 cooperatives,
# 5,000 products), a manager made with `create-user`, the server on 127.0.0.1:BENCH_PORT,
# the probes, the import with `--log-level info` (its stderr says how long the final
# switch-in took, for binaries that have one). Every probe's body is checked: an answer
# with `errors` or `userErrors` counts as failed, whatever its latency. The CSV is made
# once (python3, from the catalog's SKUs: ~400,000 orders of 1–4 lines over 2024, paid,
# fulfilled, some refunded and cancelled) and reused.
#
# Knobs: BENCH_IMPORT_LINES (1000000), BENCH_PROBE_INTERVAL (0.25), BENCH_IDLE_PROBES (40),
# BENCH_PORT (18310), BENCH_BUILD (1; 0 uses the release binary already built),
# BENCH_BASELINE_BIN (unset). Raw results: bench/results/import-<UTC time>/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
export CARGO_TERM_COLOR=never
LINES="${BENCH_IMPORT_LINES:-1000000}"
INTERVAL="${BENCH_PROBE_INTERVAL:-0.25}"
IDLE_PROBES="${BENCH_IDLE_PROBES:-40}"
PORT="${BENCH_PORT:-18310}"
BASE="http://127.0.0.1:$PORT"
RESULTS="bench/results/import-$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$(mktemp -d)"
SERVER_PID=""
MANAGER_EMAIL=bench-manager@example.ma
MANAGER_PASSWORD=bench-manager-password
mkdir -p "$RESULTS"

step() { printf '\n=== %s\n' "$*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT

if [ "${BENCH_BUILD:-1}" = 1 ]; then
  step "building the release binary"
  cargo build --release --bin solidarity-market >&2
fi
BIN="$CARGO_TARGET_DIR/release/solidarity-market"
[ -x "$BIN" ] || fail "no binary at $BIN"

gql() { # token query-json → body
  curl -s -H 'content-type: application/json' -H "authorization: Bearer $1" \
    --data "$2" "$BASE/graphql"
}

# probe KIND TOKEN PRODUCT N → "kind seconds ok|failed"
probe() {
  local kind=$1 token=$2 product=$3 n=$4 body
  if [ "$kind" = order ]; then
    body="{\"query\":\"mutation(\$i: PlaceOrderInput!) { placeOrder(input: \$i) { order { id } userErrors { code } } }\",\"variables\":{\"i\":{\"channel\":\"STORE\",\"idempotencyKey\":\"bench-$RANDOM-$n-$(date +%s%N)\",\"lines\":[{\"productId\":\"$product\",\"quantity\":1}]}}}"
  else
    body="{\"query\":\"mutation(\$i: RecordStockDeliveryInput!) { recordStockDelivery(input: \$i) { stockMovement { id } userErrors { code } } }\",\"variables\":{\"i\":{\"productId\":\"$product\",\"quantity\":1}}}"
  fi
  local out
  out=$(curl -s -m 120 -o "$WORK/probe.json" -w '%{time_total}' -H 'content-type: application/json' \
    -H "authorization: Bearer $token" --data "$body" "$BASE/graphql" || echo "120")
  if grep -q '"errors"' "$WORK/probe.json" 2>/dev/null || grep -q '"userErrors":\[{' "$WORK/probe.json" 2>/dev/null \
    || ! grep -q '"data"' "$WORK/probe.json" 2>/dev/null; then
    echo "$kind $out failed"
  else
    echo "$kind $out ok"
  fi
}

run_binary() { # name binary
  local name=$1 bin=$2 db="$WORK/$1.db" out="$RESULTS/$1"
  mkdir -p "$out"
  local url="sqlite://$db?mode=rwc"
  step "$name: seeding the market catalog"
  NO_PROGRESS=1 "$bin" --database-url "$url" --log-level warn seed --profile market >"$out/seed.log" 2>&1
  if [ ! -f "$RESULTS/orders.csv" ]; then
    step "making a $LINES-line orders file"
    python3 - "$db" "$LINES" "$RESULTS/orders.csv" <<'PY'
import random, sqlite3, sys, datetime
db, lines, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
skus = [(s, p) for s, p in sqlite3.connect(db).execute("SELECT sku, price_cents FROM products ORDER BY id")]
rng = random.Random(2024)
start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
written, n = 0, 0
with open(path, "w") as f:
    f.write("order_ref,placed_at,channel,status,sku,quantity,unit_price\n")
    while written < lines:
        n += 1
        at = start + datetime.timedelta(seconds=rng.randrange(366 * 86400))
        channel = "ONLINE" if rng.random() < 0.4 else "STORE"
        status = rng.choices(["PAID", "FULFILLED", "REFUNDED", "CANCELLED"], [30, 66, 2, 2])[0]
        for sku, price in rng.sample(skus, min(lines - written, rng.randint(1, 4))):
            f.write(f"BENCH-{n:08d},{at.strftime('%Y-%m-%dT%H:%M:%SZ')},{channel},{status},{sku},{rng.randint(1, 3)},{price // 100}.{price % 100:02d}\n")
            written += 1
print(f"{n} orders, {written} lines", file=sys.stderr)
PY
  fi
  "$bin" --database-url "$url" --log-level warn create-user --email "$MANAGER_EMAIL" \
    --password "$MANAGER_PASSWORD" --role MANAGER >/dev/null
  step "$name: serving on $BASE"
  "$bin" --database-url "$url" --bind-addr "127.0.0.1:$PORT" --seed-demo false --log-level warn \
    serve >"$out/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.1; done
  local token product
  token=$(gql "" "{\"query\":\"mutation { login(input: { email: \\\"$MANAGER_EMAIL\\\", password: \\\"$MANAGER_PASSWORD\\\" }) { token } }\"}" | jq -r .data.login.token)
  [ -n "$token" ] && [ "$token" != null ] || fail "$name: no manager token"
  product=$(gql "$token" '{"query":"{ products(first: 1, filter: { inStock: true }) { nodes { id } } }"}' | jq -r '.data.products.nodes[0].id')
  [ -n "$product" ] && [ "$product" != null ] || fail "$name: no product in stock"

  step "$name: $IDLE_PROBES probes on the idle server"
  for i in $(seq 1 "$IDLE_PROBES"); do
    if [ $((i % 2)) = 0 ]; then probe order "$token" "$product" "$i"; else probe delivery "$token" "$product" "$i"; fi
    sleep "$INTERVAL"
  done >"$out/idle.txt"

  step "$name: importing while probing"
  local started ended
  started=$(date +%s.%N)
  NO_PROGRESS=1 "$bin" --database-url "$url" --log-level info import orders "$RESULTS/orders.csv" \
    >"$out/import.out" 2>"$out/import.err" &
  local import_pid=$! i=0
  while kill -0 "$import_pid" 2>/dev/null; do
    i=$((i + 1))
    if [ $((i % 2)) = 0 ]; then probe order "$token" "$product" "$i"; else probe delivery "$token" "$product" "$i"; fi
    sleep "$INTERVAL"
  done >"$out/during.txt"
  wait "$import_pid" || echo "import failed: $(tail -3 "$out/import.err")" >&2
  ended=$(date +%s.%N)
  echo "$started $ended" >"$out/import.time"
  stop_server
}

if [ -n "${BENCH_BASELINE_BIN:-}" ]; then
  run_binary baseline "$BENCH_BASELINE_BIN"
fi
run_binary current "$BIN"
uptime >"$RESULTS/load.txt"

step "summary"
python3 - "$RESULTS" <<'PY'
import os, re, statistics, sys
results = sys.argv[1]
def stats(path):
    rows = [l.split() for l in open(path) if l.strip()]
    out = {}
    for kind in ("order", "delivery"):
        ms = sorted(float(r[1]) * 1000 for r in rows if r[0] == kind)
        failed = sum(1 for r in rows if r[0] == kind and r[2] != "ok")
        if ms:
            out[kind] = (len(ms), statistics.median(ms), ms[int(0.9 * (len(ms) - 1))], ms[-1], failed)
    return out
print("| binary | write | idle: median / max ms | during the import: n, median / p90 / max ms, failed | import took |")
print("|---|---|---:|---:|---:|")
for name in ("baseline", "current"):
    d = os.path.join(results, name)
    if not os.path.isdir(d):
        continue
    idle, during = stats(os.path.join(d, "idle.txt")), stats(os.path.join(d, "during.txt"))
    a, b = map(float, open(os.path.join(d, "import.time")).read().split())
    err = open(os.path.join(d, "import.err")).read()
    switch = re.search(r"switched the import in.*?elapsed_ms=(\d+)", err)
    took = f"{b - a:.0f} s" + (f" (switch-in {switch.group(1)} ms)" if switch else "")
    for kind, label in (("order", "placeOrder"), ("delivery", "recordStockDelivery")):
        i, r = idle.get(kind), during.get(kind)
        if not i or not r:
            continue
        print(f"| {name} | {label} | {i[1]:.0f} / {i[3]:.0f} | {r[0]}, {r[1]:.0f} / {r[2]:.0f} / {r[3]:.0f}, {r[4]} | {took} |")
PY
echo "raw results: $RESULTS" >&2
