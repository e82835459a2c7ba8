#!/usr/bin/env bash
# Search benchmark: the in-process index's build and search times, and the storefront's
# search request through the GraphQL router, on the market-scale catalog (`seed --profile
# market`: 424 cooperatives, 5,000 products, French and Arabic texts), on SQLite and on
# PostgreSQL. Prints markdown rows (see examples/search_bench.rs).
#
#   bash bench/search.sh
#
# Knobs (environment): BENCH_DATABASES ("sqlite postgres"), BENCH_RUNS (10), PG_URL
# (postgres://postgres@127.0.0.1:5432; the database sm_search_bench is dropped and
# recreated).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
DATABASES="${BENCH_DATABASES:-sqlite postgres}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cargo build --release --quiet --bin solidarity-market --example search_bench
BIN="$CARGO_TARGET_DIR/release/solidarity-market"
EXAMPLE="$CARGO_TARGET_DIR/release/examples/search_bench"

echo "| database | queries | index build | index search (median / p90) | GraphQL search, 20 results (median / p90) | queries with results |"
echo "|---|---|---|---|---|---|"
for database in $DATABASES; do
  case "$database" in
    sqlite) url="sqlite://$WORK/market.db?mode=rwc" ;;
    postgres)
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS sm_search_bench" >/dev/null
      psql "$PG_URL/postgres" -qc "CREATE DATABASE sm_search_bench" >/dev/null
      url="$PG_URL/sm_search_bench" ;;
    *) echo "unknown database $database" >&2; exit 1 ;;
  esac
  DATABASE_URL="$url" "$BIN" --log-level warn seed --profile market >/dev/null 2>&1
  # Statistics as autovacuum would have them a minute after the load (without them the
  # planner takes the freshly seeded tables for empty and scans them).
  if [[ $database == postgres ]]; then
    psql "$PG_URL/sm_search_bench" -qc "VACUUM ANALYZE" >/dev/null
  fi
  DATABASE_URL="$url" BENCH_LABEL="$database" "$EXAMPLE"
done
