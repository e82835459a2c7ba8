#!/usr/bin/env bash
# Sales analytics at the market's scale: seeds the market catalog with N years of history
# (`seed --profile market --years N`, timed), then times each analytic over a full year
# through the GraphQL router (examples/analytics_bench.rs), beside the plain GROUP BY over
# the order lines that gives the same answer, on SQLite and on PostgreSQL.
#
#   bash bench/analytics.sh                                  # 1 year, both databases
#   BENCH_YEARS="1 8" BENCH_DATABASES=postgres bash bench/analytics.sh
#
# Knobs (environment): BENCH_YEARS ("1"; e.g. "1 8"), BENCH_DATABASES ("sqlite postgres"),
# BENCH_RUNS (15 timed runs per analytic, median reported), BENCH_RAW_RUNS (5), PG_URL
# (postgres://postgres@127.0.0.1:5432; the database sm_analytics_bench is dropped and
# recreated), BENCH_DIR (where the SQLite files go, /tmp/sm-analytics-bench). Results:
# one markdown table on stdout, the seeding logs under bench/results/<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
export CARGO_TERM_COLOR=never
export NO_PROGRESS=1
YEARS="${BENCH_YEARS:-1}"
DATABASES="${BENCH_DATABASES:-sqlite postgres}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_DB=sm_analytics_bench
DIR="${BENCH_DIR:-/tmp/sm-analytics-bench}"
RESULTS="bench/results/analytics-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RESULTS" "$DIR"

step() { printf '\n=== %s\n' "$*" >&2; }

step "build (release)"
cargo build --release --quiet --bin solidarity-market --example analytics_bench
BIN="$CARGO_TARGET_DIR/release/solidarity-market"
BENCH="$CARGO_TARGET_DIR/release/examples/analytics_bench"

{
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  grep -m1 'model name' /proc/cpuinfo || true
  psql "$PG_URL/postgres" -tAc 'select version()' 2>/dev/null || true
} | tee "$RESULTS/machine.txt" >&2

echo "| data | analytic (full year) | median ms | p90 ms | plain GROUP BY ms | rows |"
echo "|---|---|---:|---:|---:|---:|"
for years in $YEARS; do
  for db in $DATABASES; do
    case "$db" in
      sqlite)
        rm -f "$DIR/market-$years.db"*
        url="sqlite://$DIR/market-$years.db?mode=rwc"
        ;;
      postgres)
        psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >&2
        psql "$PG_URL/postgres" -qc "CREATE DATABASE $PG_DB" >&2
        url="$PG_URL/$PG_DB"
        ;;
      *) echo "unknown database $db" >&2; exit 1 ;;
    esac
    step "$db: seed the market with $years years of history"
    start=$(date +%s)
    "$BIN" --database-url "$url" --log-level warn seed --profile market --years "$years" \
      | tee "$RESULTS/seed-$db-$years.txt" >&2
    echo "seeding took $(( $(date +%s) - start )) s (load average after: $(cut -d' ' -f1-3 /proc/loadavg))" \
      | tee -a "$RESULTS/seed-$db-$years.txt" >&2
    if [[ "$db" == postgres ]]; then
      psql "$url" -qc 'VACUUM ANALYZE' >&2
    fi
    step "$db, $years years: analytics"
    DATABASE_URL="$url" BENCH_LABEL="$db, $years y" "$BENCH"
  done
done
