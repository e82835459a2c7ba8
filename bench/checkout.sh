#!/usr/bin/env bash
# Checkout against the database's own limit (issue #20): in ONE run, on the same
# PostgreSQL server, pgbench's built-in simple-update script (`pgbench -N`: UPDATE one
# account, SELECT it, INSERT a history row, commit) at 32 clients, and `placeOrder` through
# our server at 32 clients — spread (1–3 lines over every sellable product in stock) and
# hot (1–3 lines over 10 products) — with `synchronous_commit = on` (every acknowledged
# order survives a crash). The runs alternate (pgbench, spread, hot, pgbench, …) so both
# see the same machine; the table gives medians, the ratio orders/s ÷ pgbench TPS, and CPU
# per order (our server, PostgreSQL's backends + WAL writer, the load generator). SQLite
# runs afterwards on its own (no pgbench to compare with).
#
#   bash bench/checkout.sh                         # PostgreSQL and SQLite, about 6 minutes
#   BENCH_DATABASES=postgres BENCH_REPEAT=5 bash bench/checkout.sh
#   BENCH_COMMIT_DELAY=1 bash bench/checkout.sh    # + a PostgreSQL pass with commit_delay
#   BENCH_PERF=1 bash bench/checkout.sh            # + a server CPU profile per database
#
# Knobs (environment): BENCH_DATABASES ("postgres sqlite"), BENCH_CLIENTS (32),
# BENCH_DURATION (10 s a run), BENCH_WARMUP (2 s before each order run), BENCH_REPEAT (3),
# BENCH_CUSTOMERS (200), BENCH_PORT (18082), BENCH_SERVER_ARGS (extra server flags; the
# per-client rate and concurrency limits are always lifted, see LIFTED),
# BENCH_PGBENCH_SCALE (10: 1,000,000 accounts), BENCH_COMMIT_DELAY (0; 1 adds a pass with
# `commit_delay = 100`, `commit_siblings = 5` set on both benchmark databases only —
# documented tuning that trades a little latency for fewer WAL flushes, never a default of
# this project), BENCH_BUILD (1; 0 uses the binaries in CARGO_TARGET_DIR),
# BENCH_SERVER_BIN (another server binary to measure, for a before/after), PG_URL
# (postgres://postgres@127.0.0.1:5432; the databases sm_bench_checkout and
# sm_bench_pgbench are dropped and recreated). Loopback only. Raw results go to
# bench/results/checkout-<UTC time>/ (git-ignored).
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
PORT="${BENCH_PORT:-18082}"
# The whole load comes from one loopback address standing in for thousands of shoppers:
# the per-client limits (bench/flood.sh measures them) are lifted, nothing else.
LIFTED="--mutations-per-minute 100000000 --max-concurrent-expensive-per-client 100000 \
  --registrations-per-minute 100000 --registrations-per-source-per-hour 100000 \
  --sign-ins-per-minute 100000"
SERVER_ARGS="$LIFTED ${BENCH_SERVER_ARGS:-}"
SCALE="${BENCH_PGBENCH_SCALE:-10}"
COMMIT_DELAY="${BENCH_COMMIT_DELAY:-0}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_DB=sm_bench_checkout
PGBENCH_DB=sm_bench_pgbench
BASE="http://127.0.0.1:$PORT"
RESULTS="bench/results/checkout-$(date -u +%Y%m%dT%H%M%SZ)"
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
cp "$CARGO_TARGET_DIR/release/solidarity-market" "$CARGO_TARGET_DIR/release/examples/order_load" "$WORK/"
# BENCH_SERVER_BIN: measure another server binary (e.g. an older build, for a before/after
# on the same machine); the load generator stays this tree's.
if [[ -n "${BENCH_SERVER_BIN:-}" ]]; then
  cp "$BENCH_SERVER_BIN" "$WORK/solidarity-market"
fi
BIN="$WORK/solidarity-market"
LOAD="$WORK/order_load"

start_server() {
  local url=$1 log=$2
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

busy() { { pgrep -x rustc || true; pgrep -x cargo || true; } | wc -l; }

# Seeds the market catalog into $1, creates the manager, serves it, prepares customers and
# stock (state in $WORK/state-$2.json).
prepare() {
  local url=$1 name=$2
  step "$name: seed the market catalog, create the manager"
  "$BIN" --database-url "$url" --log-level warn seed --profile market
  "$BIN" --database-url "$url" --log-level warn create-user --email "$MANAGER_EMAIL" \
    --password "$MANAGER_PASSWORD" --role MANAGER >/dev/null
  [[ "$url" == sqlite* ]] || psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  step "$name: serve on $BASE, prepare $CUSTOMERS customers and the stock"
  start_server "$url" "$RESULTS/$name-server.log"
  "$LOAD" prepare --url "$BASE" --manager-email "$MANAGER_EMAIL" \
    --manager-password "$MANAGER_PASSWORD" --customers "$CUSTOMERS" \
    --state "$WORK/state-$name.json" 2>&1 | tee -a "$RESULTS/prepare.txt" >&2
  [[ "$url" == sqlite* ]] || psql "$url" -qc "VACUUM ANALYZE" >/dev/null
}

# One order run: $1 pass name, $2 load, $3 run number.
orders() {
  local pass=$1 load=$2 run=$3 groups=(--cpu "server=--bind-addr 127.0.0.1:$PORT")
  [[ "$pass" == sqlite ]] || groups+=(--cpu "postgres=$PG_DB 127.0.0.1" --cpu "pg_walwriter=: walwriter")
  echo "  $pass $load run $run/$REPEAT (${WARMUP}s + ${DURATION}s)" >&2
  local before="load $(cut -d' ' -f1 /proc/loadavg), $(busy) compilers"
  "$LOAD" run --state "$WORK/state-${pass%%-*}.json" --load "$load" --clients "$CLIENTS" \
    --duration "$DURATION" --warmup "$WARMUP" "${groups[@]}" >"$RESULTS/$pass-$load-r$run.json" ||
    fail "$pass $load run $run: $(cat "$RESULTS/$pass-$load-r$run.json")"
  echo "$pass $load r$run: before: $before; after: load $(cut -d' ' -f1 /proc/loadavg), $(busy) compilers" >>"$RESULTS/noise.txt"
}

# One pgbench run: $1 pass name, $2 run number. CPU of the machine and of PostgreSQL's
# processes (backends of the pgbench database + WAL writer) around it, from /proc.
cpu_ticks() { # total busy ticks of processes whose command line contains $1
  local total=0 pid t
  for pid in $(pgrep -f -- "$1" || true); do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}
machine_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
pgbench_run() {
  local pass=$1 run=$2
  echo "  $pass pgbench -N run $run/$REPEAT (${DURATION}s)" >&2
  local before="load $(cut -d' ' -f1 /proc/loadavg), $(busy) compilers"
  local m0 b0 w0 m1 b1 w1
  # Backends start with the run: count the WAL writer around it, and the backends' CPU from
  # pgbench's own connections via pg_stat_activity is not available afterwards, so the
  # machine's busy time stands for "everything" and the WAL writer is kept apart.
  m0=$(machine_busy)
  w0=$(cpu_ticks ": walwriter")
  pgbench -n -N -c "$CLIENTS" -j 2 -T "$DURATION" -M prepared "$PG_URL/$PGBENCH_DB" \
    >"$RESULTS/$pass-pgbench-r$run.txt" 2>&1 || fail "pgbench: $(tail -5 "$RESULTS/$pass-pgbench-r$run.txt")"
  m1=$(machine_busy)
  w1=$(cpu_ticks ": walwriter")
  python3 - "$RESULTS/$pass-pgbench-r$run.txt" "$m0" "$m1" "$w0" "$w1" "$CLIENTS" "$DURATION" \
    >"$RESULTS/$pass-pgbench-r$run.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
tps = float(re.search(r"tps = ([\d.]+)", text).group(1))
lat = re.search(r"latency average = ([\d.]+) ms", text)
m0, m1 = [list(map(int, a.split())) for a in (sys.argv[2], sys.argv[3])]
busy_ms, cap_ms = (m1[0] - m0[0]) * 10.0, (m1[1] - m0[1]) * 10.0
tx = tps * float(sys.argv[7])
print(json.dumps({"tps": tps, "latency_avg_ms": float(lat.group(1)) if lat else None,
    "clients": int(sys.argv[6]), "machine_cpu_ms_per_tx": busy_ms / tx if tx else 0,
    "walwriter_cpu_ms_per_tx": (int(sys.argv[5]) - int(sys.argv[4])) * 10.0 / tx if tx else 0,
    "machine_busy_share": busy_ms / cap_ms if cap_ms else 0}))
PY
  echo "$pass pgbench r$run: before: $before; after: load $(cut -d' ' -f1 /proc/loadavg), $(busy) compilers" >>"$RESULTS/noise.txt"
}

# BENCH_PERF=1: one more spread run (not counted) with `perf record` on the server, and
# the flat profile of where its CPU goes (perf-<pass>.txt).
profile() {
  local pass=$1
  [[ "${BENCH_PERF:-0}" == 1 ]] || return 0
  command -v perf >/dev/null || fail "BENCH_PERF=1 needs perf"
  echo "  $pass spread under perf (not counted)" >&2
  (sleep "$WARMUP" && perf record -q -F 499 -g -p "$SERVER_PID" -o "$RESULTS/perf-$pass.data" \
    -- sleep "$DURATION" >/dev/null 2>&1) &
  local perf_pid=$!
  "$LOAD" run --state "$WORK/state-${pass%%-*}.json" --load spread --clients "$CLIENTS" \
    --duration "$DURATION" --warmup "$WARMUP" >"$RESULTS/$pass-spread-perf.json" || true
  wait "$perf_pid" || true
  perf report -i "$RESULTS/perf-$pass.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
    grep -v '^$' | grep '%' | head -60 >"$RESULTS/perf-$pass.txt" || true
  perf report -i "$RESULTS/perf-$pass.data" --no-children --sort dso --stdio 2>/dev/null |
    grep '%' | head -20 >"$RESULTS/perf-$pass-dso.txt" || true
  rm -f "$RESULTS/perf-$pass.data"
}

for db in $DATABASES; do
  case "$db" in
    postgres)
      pg_isready -h 127.0.0.1 -p 5432 -q || fail "PostgreSQL is not running at $PG_URL"
      [[ "$(psql "$PG_URL/postgres" -Atc 'SHOW synchronous_commit')" == on ]] ||
        fail "synchronous_commit is not on: this benchmark measures durable commits"
      for d in $PG_DB $PGBENCH_DB; do
        psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null
        psql "$PG_URL/postgres" -qc "CREATE DATABASE $d" >/dev/null
      done
      step "pgbench: initialise scale $SCALE"
      pgbench -i -q -s "$SCALE" "$PG_URL/$PGBENCH_DB" >"$RESULTS/pgbench-init.txt" 2>&1
      url="$PG_URL/$PG_DB"
      prepare "$url" postgres
      passes=(postgres)
      [[ "$COMMIT_DELAY" == 1 ]] && passes+=(postgres-commit-delay)
      for pass in "${passes[@]}"; do
        if [[ "$pass" == postgres-commit-delay ]]; then
          # New sessions of both databases only; the server's pool is reopened.
          stop_server
          for d in $PG_DB $PGBENCH_DB; do
            psql "$PG_URL/postgres" -qc "ALTER DATABASE $d SET commit_delay = 100" >/dev/null
            psql "$PG_URL/postgres" -qc "ALTER DATABASE $d SET commit_siblings = 5" >/dev/null
          done
          start_server "$url" "$RESULTS/$pass-server.log"
        fi
        step "$pass: pgbench -N, placeOrder spread and hot, alternating, $REPEAT times, $CLIENTS clients"
        for run in $(seq 1 "$REPEAT"); do
          pgbench_run "$pass" "$run"
          orders "$pass" spread "$run"
          orders "$pass" hot "$run"
        done
        profile "$pass"
      done
      stop_server
      psql "$url" -Atc "SELECT count(*) || ' orders, ' || (SELECT count(*) FROM order_lines) || ' lines, '
        || (SELECT count(*) FROM products p WHERE stock <> (SELECT coalesce(sum(delta), 0)
            FROM stock_movements m WHERE m.product_id = p.id)) || ' products whose level differs from their ledger, '
        || (SELECT count(*) FROM orders o WHERE total_cents <> (SELECT sum(total_cents) FROM order_lines l WHERE l.order_id = o.id))
        || ' orders whose total differs from their lines'
        FROM orders" | tee -a "$RESULTS/check.txt" >&2
      ;;
    sqlite)
      url="sqlite://$WORK/bench.db?mode=rwc"
      prepare "$url" sqlite
      step "sqlite: placeOrder spread and hot, $REPEAT times, $CLIENTS clients"
      for run in $(seq 1 "$REPEAT"); do
        orders sqlite spread "$run"
        orders sqlite hot "$run"
      done
      profile sqlite
      stop_server
      ;;
    *) fail "unknown database $db (postgres or sqlite)" ;;
  esac
done

{
  echo "command: BENCH_DATABASES=\"$DATABASES\" BENCH_CLIENTS=$CLIENTS BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_REPEAT=$REPEAT BENCH_CUSTOMERS=$CUSTOMERS BENCH_PGBENCH_SCALE=$SCALE BENCH_COMMIT_DELAY=$COMMIT_DELAY BENCH_SERVER_ARGS=\"${BENCH_SERVER_ARGS:-}\" bash bench/checkout.sh"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "server binary: ${BENCH_SERVER_BIN:-the release build of this tree}"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
  echo "memory: $(free -h | awk '/Mem:/ {print $2}')"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "postgresql: $(psql "$PG_URL/postgres" -Atc 'SHOW server_version' 2>/dev/null || echo n/a), synchronous_commit=$(psql "$PG_URL/postgres" -Atc 'SHOW synchronous_commit' 2>/dev/null || echo n/a), wal_sync_method=$(psql "$PG_URL/postgres" -Atc 'SHOW wal_sync_method' 2>/dev/null || echo n/a)"
  echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

python3 - "$RESULTS" <<'PY' | tee "$RESULTS/summary.md"
import glob, json, os, re, statistics as st, sys
d = sys.argv[1]
runs = {}
for path in sorted(glob.glob(os.path.join(d, "*-r*.json"))):
    m = re.match(r"(.+)-(pgbench|spread|hot)-r(\d+)\.json$", os.path.basename(path))
    runs.setdefault((m.group(1), m.group(2)), []).append(json.load(open(path)))
passes = sorted({p for p, _ in runs}, key=lambda p: ("sqlite" in p, p))
label = {"pgbench": "pgbench -N (simple-update)", "spread": "placeOrder, spread (~5,000 products)",
         "hot": "placeOrder, hot (10 products)"}
print("| database | workload | clients | per second, median (min–max) | ÷ pgbench TPS | p50 ms | p99 ms | failed | runs |")
print("|---|---|---:|---:|---:|---:|---:|---|---:|")
for p in passes:
    bench = [r["tps"] for r in runs.get((p, "pgbench"), [])]
    for load in ("pgbench", "spread", "hot"):
        rs = runs.get((p, load))
        if not rs:
            continue
        if load == "pgbench":
            v = [r["tps"] for r in rs]
            lat = st.median(r["latency_avg_ms"] or 0 for r in rs)
            print(f"| {p} | {label[load]} | {rs[0]['clients']} | {st.median(v):,.0f} ({min(v):,.0f}–{max(v):,.0f}) | 1.00 | {lat:.2f} (avg) | | 0 | {len(rs)} |")
            continue
        v = [r["ok_per_s"] for r in rs]
        failed = {}
        for r in rs:
            for kind in ("user_errors", "graphql_errors", "http_errors"):
                for code, n in r[kind].items():
                    failed[code] = failed.get(code, 0) + n
            if r["transport_errors"]:
                failed["transport"] = failed.get("transport", 0) + r["transport_errors"]
        failures = ", ".join(f"{c} {n}" for c, n in sorted(failed.items())) or "0"
        # The ratio per run pair (pgbench run n and order run n ran back to back).
        ratios = [o / b for o, b in zip(v, bench)] if bench else []
        ratio = f"{st.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})" if ratios else ""
        print(f"| {p} | {label[load]} | {rs[0]['clients']} | {st.median(v):,.0f} ({min(v):,.0f}–{max(v):,.0f}) | {ratio} | "
              f"{st.median(r['p50_ms'] for r in rs):.2f} | {st.median(r['p99_ms'] for r in rs):.2f} | {failures} | {len(rs)} |")
print()
print("| database | workload | CPU ms per order (or transaction): our server | PostgreSQL backends + WAL writer | load generator / pgbench client | whole machine | machine busy |")
print("|---|---|---:|---:|---:|---:|---:|")
for p in passes:
    for load in ("pgbench", "spread", "hot"):
        rs = runs.get((p, load))
        if not rs:
            continue
        if load == "pgbench":
            print(f"| {p} | {label[load]} | – | (in the machine's total; WAL writer {st.median(r['walwriter_cpu_ms_per_tx'] for r in rs):.3f}) | (in the machine's total) | "
                  f"{st.median(r['machine_cpu_ms_per_tx'] for r in rs):.3f} | {st.median(r['machine_busy_share'] for r in rs):.0%} |")
            continue
        per = lambda k: st.median(r["cpu_ms_per_ok"].get(k, 0.0) for r in rs)
        pg = per("postgres") + per("pg_walwriter")
        busy = st.median(r["cpu_ms"]["all_processes"] / r["cpu_ms"]["all_capacity"] for r in rs if r["cpu_ms"].get("all_capacity"))
        pgcell = f"{pg:.3f}" if "sqlite" not in p else "(in the server)"
        print(f"| {p} | {label[load]} | {per('server'):.3f} | {pgcell} | {per('load_generator'):.3f} | {per('all_processes'):.3f} | {busy:.0%} |")
PY
