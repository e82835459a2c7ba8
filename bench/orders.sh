#!/usr/bin/env bash
# placeOrder benchmark (issue #5): orders/s and p50/p99 latency of `placeOrder` at 32
# concurrent clients on a catalog of the market's size (`seed --profile market`: 424
# cooperatives, ~5,000 products), on SQLite and on PostgreSQL, for a spread load (1–3
# lines over every sellable product in stock) and a hot one (1–3 lines over 10 products),
# with three baselines in the same run: GET /health, `{ me { id } }` (HTTP + GraphQL +
# token check) and `recordStockDelivery` of one unit (the smallest write transaction).
#
#   bash bench/orders.sh                       # everything, about 7 minutes
#   BENCH_DATABASES=postgres BENCH_LOADS="spread" BENCH_SERVER_ARGS="--database-max-connections 32" \
#     bash bench/orders.sh                     # one database, one load, other server flags
#
# The load generator is `examples/order_load.rs` (tokio + reqwest): `prepare` registers
# BENCH_CUSTOMERS customers through `register` (argon2id, before anything is measured),
# collects the sellable products in stock and tops their stock up through
# `recordStockDelivery` (2,000 units each, 1,000,000 for the 10 hot ones), so that the runs
# measure placing orders, not refusing them; `run` checks every response body and counts
# successes, userErrors, GraphQL errors, HTTP and transport errors apart.
#
# Knobs (environment): BENCH_DATABASES ("sqlite postgres"; also "postgres-async", the same
# PostgreSQL database with `ALTER DATABASE … SET synchronous_commit = off`, to show what
# the fsync per commit costs — never the headline), BENCH_LOADS ("health me delivery
# spread hot"), BENCH_CLIENTS (32), BENCH_DURATION (10 s per order run, at most 5 s for a
# baseline), BENCH_WARMUP (2 s before each run), BENCH_REPEAT (3 runs, the median is
# reported), BENCH_CUSTOMERS (200), BENCH_PORT (18081), BENCH_SERVER_ARGS (extra server
# flags), BENCH_BUILD (1; 0 uses the binaries already built in CARGO_TARGET_DIR), PG_URL
# (postgres://postgres@127.0.0.1:5432; the database sm_bench_orders is dropped and
# recreated), BENCH_PG_PARAMS (connection parameters of the server's URL, e.g.
# "sslmode=disable"). Loopback only. Raw results go to bench/results/orders-<UTC time>/
# (git-ignored), with noise.txt (load average and compilers running around each run); the
# summary is printed as a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
export CARGO_TERM_COLOR=never
DATABASES="${BENCH_DATABASES:-sqlite postgres}"
LOADS="${BENCH_LOADS:-health me delivery spread hot}"
CLIENTS="${BENCH_CLIENTS:-32}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
REPEAT="${BENCH_REPEAT:-3}"
CUSTOMERS="${BENCH_CUSTOMERS:-200}"
PORT="${BENCH_PORT:-18081}"
SERVER_ARGS="${BENCH_SERVER_ARGS:-}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_PARAMS="${BENCH_PG_PARAMS:-}"
PG_DB=sm_bench_orders
BASE="http://127.0.0.1:$PORT"
RESULTS="bench/results/orders-$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$(mktemp -d)"
SERVER_PID=""
MANAGER_EMAIL=bench-manager@example.ma
MANAGER_PASSWORD=bench-manager-password

step() { printf '\n=== %s\n' "$*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$RESULTS"

if [[ "${BENCH_BUILD:-1}" == 1 ]]; then
  step "build (release): server and load generator"
  cargo build --release --quiet --bin solidarity-market --example order_load
fi
# Private copies: a build in the same target directory cannot swap them mid-run.
cp "$CARGO_TARGET_DIR/release/solidarity-market" "$CARGO_TARGET_DIR/release/examples/order_load" "$WORK/"
BIN="$WORK/solidarity-market"
LOAD="$WORK/order_load"

start_server() {
  local url=$1 log=$2
  # Another process on the port would be measured instead of ours.
  if curl -s -o /dev/null "$BASE/health" 2>/dev/null; then
    fail "something already listens on 127.0.0.1:$PORT (set BENCH_PORT)"
  fi
  # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
  "$BIN" --database-url "$url" --bind-addr "127.0.0.1:$PORT" --seed-demo false \
    --log-level warn $SERVER_ARGS serve >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$BASE/health" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited: $(tail -5 "$log")"
    sleep 0.2
  done
  fail "the server did not answer /health within 20 s"
}

# busy: how many rustc/cargo processes run on the machine (other work skews the figures;
# noise.txt records it around every run).
busy() { { pgrep -x rustc || true; pgrep -x cargo || true; } | wc -l; }

# measure DB LOAD: $REPEAT runs, each after its own warm-up, one JSON line per run.
measure() {
  local db=$1 load=$2 secs=$DURATION
  case "$load" in
    health | me | delivery) secs=$((DURATION < 5 ? DURATION : 5)) ;;
    spread | hot) ;;
    *) fail "unknown load $load" ;;
  esac
  for run in $(seq 1 "$REPEAT"); do
    echo "  $db $load c=$CLIENTS run $run/$REPEAT (${WARMUP}s + ${secs}s)" >&2
    local before
    before="load $(cut -d' ' -f1 /proc/loadavg), $(busy) compilers"
    "$LOAD" run --state "$WORK/state-$db.json" --load "$load" --clients "$CLIENTS" \
      --duration "$secs" --warmup "$WARMUP" "${CPU_GROUPS[@]}" >"$RESULTS/$db-$load-r$run.json" ||
      fail "$db $load run $run: $(cat "$RESULTS/$db-$load-r$run.json")"
    echo "$db $load r$run: before: $before; after: load $(cut -d' ' -f1 /proc/loadavg), $(busy) compilers" >>"$RESULTS/noise.txt"
  done
}

for db in $DATABASES; do
  case "$db" in
    sqlite) url="sqlite://$WORK/bench.db?mode=rwc" ;;
    postgres | postgres-async)
      pg_isready -h 127.0.0.1 -p 5432 -q || fail "PostgreSQL is not running at $PG_URL"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
      psql "$PG_URL/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
      if [[ "$db" == postgres-async ]]; then
        # Only this database's sessions, not the server's configuration.
        psql "$PG_URL/postgres" -qc "ALTER DATABASE $PG_DB SET synchronous_commit = off" >/dev/null
      fi
      url="$PG_URL/$PG_DB${PG_PARAMS:+?$PG_PARAMS}"
      ;;
    *) fail "unknown database $db (sqlite, postgres or postgres-async)" ;;
  esac

  step "$db: seed the market catalog, create the manager"
  start=$(date +%s%N)
  "$BIN" --database-url "$url" --log-level warn seed --profile market
  echo "$db: seeded in $((($(date +%s%N) - start) / 1000000)) ms" | tee -a "$RESULTS/seed.txt" >&2
  "$BIN" --database-url "$url" --log-level warn create-user --email "$MANAGER_EMAIL" \
    --password "$MANAGER_PASSWORD" --role MANAGER >/dev/null
  if [[ "$db" != sqlite ]]; then
    psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  fi

  step "$db: serve on $BASE ${SERVER_ARGS:+($SERVER_ARGS)}, prepare $CUSTOMERS customers and the stock"
  start_server "$url" "$RESULTS/$db-server.log"
  "$LOAD" prepare --url "$BASE" --manager-email "$MANAGER_EMAIL" \
    --manager-password "$MANAGER_PASSWORD" --customers "$CUSTOMERS" \
    --state "$WORK/state-$db.json" 2>&1 | tee -a "$RESULTS/prepare.txt" >&2
  if [[ "$db" != sqlite ]]; then
    psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  fi

  # CPU time per request of the server, of PostgreSQL's backends serving it and of its WAL
  # writer (the load generator reports its own and the whole machine's).
  CPU_GROUPS=(--cpu "server=--bind-addr 127.0.0.1:$PORT")
  if [[ "$db" != sqlite ]]; then
    CPU_GROUPS+=(--cpu "postgres=$PG_DB 127.0.0.1" --cpu "pg_walwriter=: walwriter")
  fi

  step "$db: measure ($LOADS) at $CLIENTS clients"
  for load in $LOADS; do
    measure "$db" "$load"
  done
  stop_server
  if [[ "$db" != sqlite ]]; then
    psql "$url" -Atc "SELECT count(*) || ' orders, ' || (SELECT count(*) FROM order_lines) || ' lines, '
      || (SELECT count(*) FROM products p WHERE stock <> (SELECT coalesce(sum(delta), 0)
          FROM stock_movements m WHERE m.product_id = p.id)) || ' products whose level differs from their ledger'
      FROM orders" | tee -a "$RESULTS/check.txt" >&2
  fi
done

step "results in $RESULTS"
{
  echo "command: BENCH_DATABASES=\"$DATABASES\" BENCH_LOADS=\"$LOADS\" BENCH_CLIENTS=$CLIENTS BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_REPEAT=$REPEAT BENCH_CUSTOMERS=$CUSTOMERS BENCH_SERVER_ARGS=\"$SERVER_ARGS\" BENCH_PG_PARAMS=\"$PG_PARAMS\" bash bench/orders.sh"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
  echo "memory: $(free -h | awk '/Mem:/ {print $2}')"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "postgresql: $(psql "$PG_URL/postgres" -Atc 'SHOW server_version' 2>/dev/null || echo n/a)"
  echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

# Median of the runs of each database × load; the failures of all runs are summed (a run
# with more than 1% failed requests has already failed the script). The second table is
# the CPU time per successful request (medians): server, PostgreSQL, load generator, and
# how busy the rest of the machine was (other work skews the first table).
python3 - "$RESULTS" <<'PY' | tee "$RESULTS/summary.md"
import glob, json, os, re, statistics, sys
rows = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*-r*.json"))):
    db, load, _ = re.match(r"([\w-]+)-(\w+)-r(\d+)\.json$", os.path.basename(path)).groups()
    rows.setdefault((db, load), []).append(json.load(open(path)))
dbs = {"sqlite": 0, "postgres": 1, "postgres-async": 2}
loads = {"health": 0, "me": 1, "delivery": 2, "spread": 3, "hot": 4}
label = {
    "health": "GET /health (baseline)",
    "me": "`me` query, token check (baseline)",
    "delivery": "recordStockDelivery, 1 write (baseline)",
    "spread": "placeOrder, spread (~5,000 products)",
    "hot": "placeOrder, hot (10 products)",
}
dblabel = {"postgres-async": "postgres, synchronous_commit=off (not the headline)"}
ordered = sorted(rows.items(), key=lambda kv: (dbs.get(kv[0][0], 9), loads.get(kv[0][1], 9)))
print("| database | request | clients | successes/s | p50 (ms) | p99 (ms) | lines/order | failed | runs |")
print("|---|---|---:|---:|---:|---:|---:|---|---:|")
for (db, load), runs in ordered:
    med = lambda k: statistics.median(r[k] for r in runs)
    rates = [r["ok_per_s"] for r in runs]
    failed = {}
    for r in runs:
        for kind in ("user_errors", "graphql_errors", "http_errors"):
            for code, n in r[kind].items():
                failed[code] = failed.get(code, 0) + n
        if r["transport_errors"]:
            failed["transport"] = failed.get("transport", 0) + r["transport_errors"]
    failures = ", ".join(f"{code} {n}" for code, n in sorted(failed.items())) or "0"
    lines = f"{med('lines_per_order'):.2f}" if load in ("spread", "hot") else ""
    print(f"| {dblabel.get(db, db)} | {label.get(load, load)} | {runs[0]['clients']} | "
          f"{med('ok_per_s'):,.0f} ({min(rates):,.0f}–{max(rates):,.0f}) | {med('p50_ms'):.2f} | "
          f"{med('p99_ms'):.2f} | {lines} | {failures} | {len(runs)} |")
print()
print("| database | request | CPU ms per success: server | PostgreSQL (backends + WAL writer) | load generator | total | other processes' CPU during the runs |")
print("|---|---|---:|---:|---:|---:|---:|")
for (db, load), runs in ordered:
    per = lambda k: statistics.median(r["cpu_ms_per_ok"].get(k, 0.0) for r in runs)
    server, pg = per("server"), per("postgres") + per("pg_walwriter")
    gen = per("load_generator")
    others = [
        max(0.0, r["cpu_ms"]["all_processes"] - r["cpu_ms"]["server"] - r["cpu_ms"].get("postgres", 0.0)
            - r["cpu_ms"].get("pg_walwriter", 0.0) - r["cpu_ms"]["load_generator"]) / r["cpu_ms"]["all_capacity"]
        for r in runs if r["cpu_ms"].get("all_capacity")
    ]
    noise = f"{statistics.median(others):.0%} ({min(others):.0%}–{max(others):.0%})" if others else ""
    pgcell = f"{pg:.2f}" if db != "sqlite" else "(in the server)"
    print(f"| {dblabel.get(db, db)} | {label.get(load, load)} | {server:.2f} | {pgcell} | {gen:.2f} | "
          f"{server + pg + gen:.2f} | {noise} |")
PY
