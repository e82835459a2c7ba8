#!/usr/bin/env bash
# Events (issue #19): how fast the outbox's events reach their listeners, and what they
# add to each placeOrder. In ONE run per database, alternating:
#   - `quiet`: placeOrder (spread, 32 clients) with nobody listening — the outbox is
#     written and published, nothing is delivered;
#   - `listened`: the same load while a webhook receiver (every event type, signatures
#     checked) and BENCH_SUBSCRIBERS GraphQL subscriptions (graphql-transport-ws, as a
#     manager: every event) listen — events/s delivered on each channel, the lag from the
#     change's commit to receipt, and a check that every event reached every listener
#     exactly once (the webhook: at least once, duplicates counted);
#   - `no-outbox` (only with BENCH_BASELINE_BIN): the same load on a server built before
#     the outbox (e.g. commit 1413121), on its own database — the outbox's own cost.
# Then one subscriber replays the whole backlog (`events(after: 0)`): events/s a client
# catching up receives. The table gives medians, orders/s and CPU per order (server,
# PostgreSQL's backends + WAL writer) per pass, and the added cost per order.
#
#   bash bench/events.sh                              # PostgreSQL and SQLite, ~5 minutes
#   BENCH_DATABASES=postgres BENCH_REPEAT=5 bash bench/events.sh
#   BENCH_BASELINE_BIN=/tmp/base/solidarity-market bash bench/events.sh
#     (build it with: git worktree add /tmp/base-src 1413121 && cd /tmp/base-src &&
#      cargo build --release --bin solidarity-market && cp target/release/solidarity-market /tmp/base/)
#
# Knobs (environment): BENCH_DATABASES ("postgres sqlite"), BENCH_CLIENTS (32),
# BENCH_DURATION (10 s a run), BENCH_WARMUP (2 s), BENCH_REPEAT (3), BENCH_CUSTOMERS
# (200), BENCH_SUBSCRIBERS (4), BENCH_PORT (18083), BENCH_SINK_PORT (18093), BENCH_BUILD
# (1; 0 uses the binaries in CARGO_TARGET_DIR), BENCH_BASELINE_BIN, PG_URL
# (postgres://postgres@127.0.0.1:5432; the databases sm_bench_events and
# sm_bench_events_base are dropped and recreated). Loopback only. Raw results go to
# bench/results/events-<UTC time>/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
export CARGO_TERM_COLOR=never
DATABASES="${BENCH_DATABASES:-postgres sqlite}"
CLIENTS="${BENCH_CLIENTS:-32}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
REPEAT="${BENCH_REPEAT:-3}"
CUSTOMERS="${BENCH_CUSTOMERS:-200}"
SUBSCRIBERS="${BENCH_SUBSCRIBERS:-4}"
PORT="${BENCH_PORT:-18083}"
SINK_PORT="${BENCH_SINK_PORT:-18093}"
BASELINE_BIN="${BENCH_BASELINE_BIN:-}"
# The whole load comes from one loopback address standing in for thousands of shoppers:
# the per-client limits (bench/flood.sh measures them) are lifted, nothing else.
SERVER_ARGS="--mutations-per-minute 100000000 --max-concurrent-expensive-per-client 100000 \
  --registrations-per-minute 100000 --registrations-per-source-per-hour 100000 \
  --sign-ins-per-minute 100000"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
BASE="http://127.0.0.1:$PORT"
RESULTS="bench/results/events-$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$(mktemp -d)"
SERVER_PID=""
SINK_PID=""
MANAGER_EMAIL=bench-manager@example.ma
MANAGER_PASSWORD=bench-manager-password

step() { printf '\n=== %s\n' "$*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
stop_pid() {
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}
cleanup() {
  stop_pid "$SINK_PID"
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$RESULTS"

if [[ "${BENCH_BUILD:-1}" == 1 ]]; then
  step "build (release): server, load generator, event sink"
  cargo build --release --quiet --bin solidarity-market --example order_load --example event_sink
fi
cp "$CARGO_TARGET_DIR/release/solidarity-market" "$CARGO_TARGET_DIR/release/examples/order_load" \
  "$CARGO_TARGET_DIR/release/examples/event_sink" "$WORK/"
LOAD="$WORK/order_load"
SINK="$WORK/event_sink"
if [[ -n "$BASELINE_BIN" ]]; then
  cp "$BASELINE_BIN" "$WORK/baseline-server"
fi

# $1 binary, $2 database URL, $3 log.
start_server() {
  local bin=$1 url=$2 log=$3
  if curl -s -o /dev/null "$BASE/health" 2>/dev/null; then
    fail "something already listens on 127.0.0.1:$PORT (set BENCH_PORT)"
  fi
  # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
  "$bin" --database-url "$url" --bind-addr "127.0.0.1:$PORT" --seed-demo false \
    --log-level warn $SERVER_ARGS serve >>"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$BASE/health" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited: $(tail -5 "$log")"
    sleep 0.2
  done
  fail "the server did not answer /health within 20 s"
}

busy() { { pgrep -x rustc || true; pgrep -x cargo || true; } | wc -l; }

# Seeds the market catalog into $2 with binary $1, creates the manager, serves it and
# prepares customers and stock (state in $WORK/state-$3.json). Leaves the server running.
prepare() {
  local bin=$1 url=$2 name=$3
  step "$name: seed the market catalog, create the manager"
  "$bin" --database-url "$url" --log-level warn seed --profile market
  "$bin" --database-url "$url" --log-level warn create-user --email "$MANAGER_EMAIL" \
    --password "$MANAGER_PASSWORD" --role MANAGER >/dev/null
  [[ "$url" == sqlite* ]] || psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  step "$name: serve on $BASE, prepare $CUSTOMERS customers and the stock"
  start_server "$bin" "$url" "$RESULTS/$name-server.log"
  "$LOAD" prepare --url "$BASE" --manager-email "$MANAGER_EMAIL" \
    --manager-password "$MANAGER_PASSWORD" --customers "$CUSTOMERS" \
    --state "$WORK/state-$name.json" 2>&1 | tee -a "$RESULTS/prepare.txt" >&2
  [[ "$url" == sqlite* ]] || psql "$url" -qc "VACUUM ANALYZE" >/dev/null
}

# One order run against the running server: $1 state name, $2 pass, $3 run, $4 database name.
orders() {
  local state=$1 pass=$2 run=$3 pgdb=$4 groups=(--cpu "server=--bind-addr 127.0.0.1:$PORT")
  [[ -z "$pgdb" ]] || groups+=(--cpu "postgres=$pgdb 127.0.0.1" --cpu "pg_walwriter=: walwriter")
  groups+=(--cpu "sink=event_sink --url")
  echo "  $pass run $run/$REPEAT (${WARMUP}s + ${DURATION}s)" >&2
  local before="load $(cut -d' ' -f1 /proc/loadavg), $(busy) compilers"
  "$LOAD" run --state "$WORK/state-$state.json" --load spread --clients "$CLIENTS" \
    --duration "$DURATION" --warmup "$WARMUP" "${groups[@]}" >"$RESULTS/$pass-orders-r$run.json" ||
    fail "$pass run $run: $(cat "$RESULTS/$pass-orders-r$run.json")"
  echo "$pass r$run: before: $before; after: load $(cut -d' ' -f1 /proc/loadavg), $(busy) compilers" >>"$RESULTS/noise.txt"
}

manager_token() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manager_token"])' "$1"; }

# The listened pass: the sink listens while the orders run, then drains and reports.
listened() {
  local state=$1 pass=$2 run=$3 pgdb=$4 token
  token=$(manager_token "$WORK/state-$state.json")
  "$SINK" --url "$BASE" --token "$token" --port "$SINK_PORT" --subscribers "$SUBSCRIBERS" \
    >"$WORK/sink.out" 2>"$RESULTS/$pass-sink-r$run.err" &
  SINK_PID=$!
  for _ in $(seq 1 100); do
    grep -q '^ready' "$WORK/sink.out" 2>/dev/null && break
    kill -0 "$SINK_PID" 2>/dev/null || fail "the event sink exited: $(cat "$RESULTS/$pass-sink-r$run.err")"
    sleep 0.1
  done
  grep -q '^ready' "$WORK/sink.out" || fail "the event sink was not ready within 10 s"
  orders "$state" "$pass" "$run" "$pgdb"
  kill -TERM "$SINK_PID"
  wait "$SINK_PID" || fail "event sink: $(cat "$RESULTS/$pass-sink-r$run.err") $(tail -1 "$WORK/sink.out")"
  SINK_PID=""
  tail -1 "$WORK/sink.out" >"$RESULTS/$pass-sink-r$run.json"
}

for db in $DATABASES; do
  case "$db" in
    postgres)
      pg_isready -h 127.0.0.1 -p 5432 -q || fail "PostgreSQL is not running at $PG_URL"
      for d in sm_bench_events sm_bench_events_base; do
        psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null
      done
      psql "$PG_URL/postgres" -qc "CREATE DATABASE sm_bench_events" >/dev/null
      url="$PG_URL/sm_bench_events"
      base_url="$PG_URL/sm_bench_events_base"
      pgdb=sm_bench_events
      ;;
    sqlite)
      url="sqlite://$WORK/events.db?mode=rwc"
      base_url="sqlite://$WORK/events-base.db?mode=rwc"
      pgdb=""
      ;;
    *) fail "unknown database $db (postgres or sqlite)" ;;
  esac
  if [[ -n "$BASELINE_BIN" ]]; then
    [[ "$db" == sqlite ]] || psql "$PG_URL/postgres" -qc "CREATE DATABASE sm_bench_events_base" >/dev/null
    prepare "$WORK/baseline-server" "$base_url" "$db-base"
    stop_server
  fi
  prepare "$WORK/solidarity-market" "$url" "$db"
  step "$db: placeOrder quiet and listened${BASELINE_BIN:+ and without the outbox}, alternating, $REPEAT times, $CLIENTS clients, $SUBSCRIBERS subscribers + 1 webhook"
  first=$(psql "$url" -Atc "SELECT COALESCE(MAX(seq), 0) FROM events" 2>/dev/null ||
    sqlite3 "${url#sqlite://}" "SELECT COALESCE(MAX(seq), 0) FROM events" 2>/dev/null || echo 0)
  for run in $(seq 1 "$REPEAT"); do
    orders "$db" "$db-quiet" "$run" "$pgdb"
    listened "$db" "$db-listened" "$run" "$pgdb"
    if [[ -n "$BASELINE_BIN" ]]; then
      stop_server
      start_server "$WORK/baseline-server" "$base_url" "$RESULTS/$db-base-server.log"
      orders "$db-base" "$db-no-outbox" "$run" "${pgdb:+sm_bench_events_base}"
      stop_server
      start_server "$WORK/solidarity-market" "$url" "$RESULTS/$db-server.log"
    fi
  done
  step "$db: one subscriber replays the backlog"
  token=$(manager_token "$WORK/state-$db.json")
  "$SINK" --url "$BASE" --token "$token" --replay-after 0 --replay-count 20000 \
    >"$RESULTS/$db-replay.json" 2>"$RESULTS/$db-replay.err" ||
    fail "replay: $(cat "$RESULTS/$db-replay.err")"
  stop_server
  echo "$db: events before the runs: $first" >>"$RESULTS/noise.txt"
done

{
  echo "command: BENCH_DATABASES=\"$DATABASES\" BENCH_CLIENTS=$CLIENTS BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_REPEAT=$REPEAT BENCH_CUSTOMERS=$CUSTOMERS BENCH_SUBSCRIBERS=$SUBSCRIBERS BENCH_BASELINE_BIN=\"$BASELINE_BIN\" bash bench/events.sh"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
  echo "memory: $(free -h | awk '/Mem:/ {print $2}')"
  echo "postgresql: $(psql "$PG_URL/postgres" -Atc 'SHOW server_version' 2>/dev/null || echo n/a), synchronous_commit=$(psql "$PG_URL/postgres" -Atc 'SHOW synchronous_commit' 2>/dev/null || echo n/a)"
  echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

python3 - "$RESULTS" <<'PY' | tee "$RESULTS/summary.md"
import glob, json, os, re, statistics as st, sys
d = sys.argv[1]
orders, sinks = {}, {}
for path in sorted(glob.glob(os.path.join(d, "*-orders-r*.json"))):
    m = re.match(r"(.+)-orders-r(\d+)\.json$", os.path.basename(path))
    orders.setdefault(m.group(1), []).append(json.load(open(path)))
for path in sorted(glob.glob(os.path.join(d, "*-sink-r*.json"))):
    m = re.match(r"(.+)-sink-r(\d+)\.json$", os.path.basename(path))
    sinks.setdefault(m.group(1), []).append(json.load(open(path)))
med = lambda xs: st.median(xs) if xs else 0.0
def cpu(rs, k):
    return med([r["cpu_ms_per_ok"].get(k, 0.0) for r in rs])
order = lambda p: (p.startswith("sqlite"), {"no-outbox": 0, "quiet": 1, "listened": 2}[p.split("-", 1)[1]])
print("| database | pass | placeOrder/s, median (min–max) | p99 ms | CPU ms per order: server | PostgreSQL + WAL writer | server + PostgreSQL | listeners (sink) | runs |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
total = {}
for p in sorted(orders, key=order):
    rs = orders[p]
    v = [r["ok_per_s"] for r in rs]
    db, kind = p.split("-", 1)
    pg = cpu(rs, "postgres") + cpu(rs, "pg_walwriter")
    total[p] = cpu(rs, "server") + pg
    pgcell = f"{pg:.3f}" if db != "sqlite" else "(in the server)"
    print(f"| {db} | {kind} | {med(v):,.0f} ({min(v):,.0f}–{max(v):,.0f}) | {med([r['p99_ms'] for r in rs]):.1f} | "
          f"{cpu(rs, 'server'):.3f} | {pgcell} | {total[p]:.3f} | {cpu(rs, 'sink'):.3f} | {len(rs)} |")
print()
print("| database | channel | events/s delivered (median of runs) | events per run | lag commit → receipt p50 / p90 / p99 ms | duplicates | drained after the load (s) |")
print("|---|---|---:|---:|---:|---:|---:|")
for p in sorted(sinks, key=order):
    rs = sinks[p]
    db = p.split("-", 1)[0]
    w = [r["webhook"] for r in rs]
    lag = lambda xs, q: med([x["lag_ms"][q] for x in xs])
    print(f"| {db} | webhook (1, every type) | {med([x['per_second'] for x in w]):,.0f} | {med([x['distinct'] for x in w]):,.0f} | "
          f"{lag(w, 'p50'):.1f} / {lag(w, 'p90'):.1f} / {lag(w, 'p99'):.1f} | {sum(r['webhook_duplicates'] for r in rs)} | "
          f"{med([r['drain_seconds_after_stop'] for r in rs]):.2f} |")
    s = [x for r in rs for x in r["subscriptions"]]
    print(f"| {db} | subscriptions ({len(rs[0]['subscriptions'])}, each every event) | {med([x['per_second'] for x in s]):,.0f} each | {med([x['distinct'] for x in s]):,.0f} | "
          f"{lag(s, 'p50'):.1f} / {lag(s, 'p90'):.1f} / {lag(s, 'p99'):.1f} | 0 | |")
for path in sorted(glob.glob(os.path.join(d, "*-replay.json"))):
    r = json.load(open(path))["replay"]
    db = os.path.basename(path).split("-")[0]
    print(f"| {db} | one subscriber replaying the backlog (`after: 0`) | {r['per_second']:,.0f} | {r['received']:,} | | 0 | |")
print()
for db in ("postgres", "sqlite"):
    q, l, n = (total.get(f"{db}-{k}") for k in ("quiet", "listened", "no-outbox"))
    if q is None:
        continue
    parts = [f"listeners add {l - q:+.3f} ms" if l is not None else ""]
    if n is not None:
        parts.append(f"the outbox adds {q - n:+.3f} ms (quiet vs a server without it)")
    print(f"- {db}: server + database CPU per order: " + "; ".join(x for x in parts if x))
PY
