#!/usr/bin/env bash
# Flood benchmark (issue 12): a cheap storefront query's p50/p99 alone and while each
# abuse of issue 12's table runs against the same server — the five-level nested page
# query, 1,200 repeated fields, a sign-in flood from one address and from 1,000
# addresses, a registration flood likewise, 600 slow connections — on SQLite and on
# PostgreSQL, with the demo catalog. The baseline of each scenario is measured just
# before it, in the same run. Every body is checked (examples/flood.rs).
#
#   bash bench/flood.sh                                   # both databases, ~6 minutes
#   BENCH_DATABASES=sqlite BENCH_SCENARIOS=nested,slow bash bench/flood.sh
#
# Knobs (environment): BENCH_DATABASES ("sqlite postgres"), BENCH_SCENARIOS (all),
# BENCH_DURATION (10 s per measurement), BENCH_ABUSERS (8 workers), BENCH_PORT (18200),
# BENCH_SERVER_ARGS (extra server flags), PG_URL (postgres://postgres@127.0.0.1:5432),
# BENCH_PG_DB (sm_bench_flood; dropped and recreated). Loopback only. The server trusts
# 127.0.0.1 as a proxy so the "-spread" scenarios can stand for many clients with
# X-Forwarded-For. Raw output in bench/results/flood-<UTC time>/ (git-ignored); the
# summary is printed as a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
export CARGO_TERM_COLOR=never
DATABASES="${BENCH_DATABASES:-sqlite postgres}"
SCENARIOS="${BENCH_SCENARIOS:-nested,repeated,login,login-spread,register,register-spread,slow}"
DURATION="${BENCH_DURATION:-10}"
ABUSERS="${BENCH_ABUSERS:-8}"
PORT="${BENCH_PORT:-18200}"
SERVER_ARGS="${BENCH_SERVER_ARGS:-}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_DB="${BENCH_PG_DB:-sm_bench_flood}"
BASE="http://127.0.0.1:$PORT"
RESULTS="bench/results/flood-$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$(mktemp -d)"
SERVER_PID=""

step() { printf '\n=== %s\n' "$*" >&2; }
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

step "build (release)"
cargo build --release --quiet --bin solidarity-market --example flood
BIN="$CARGO_TARGET_DIR/release/solidarity-market"
FLOOD="$CARGO_TARGET_DIR/release/examples/flood"

{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RESULTS/machine.txt" >&2

for db in $DATABASES; do
  case "$db" in
    sqlite) URL="sqlite://$WORK/flood.db?mode=rwc" ;;
    postgres)
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
      psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
      URL="$PG_URL/$PG_DB"
      ;;
    *) echo "unknown database $db" >&2; exit 1 ;;
  esac
  step "$db: server (demo catalog)"
  # shellcheck disable=SC2086
  "$BIN" serve --database-url "$URL" --bind-addr "127.0.0.1:$PORT" --trusted-proxies 127.0.0.1 \
    --log-level warn $SERVER_ARGS 2>"$RESULTS/server-$db.log" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fsS "$BASE/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$BASE/health" >/dev/null || { echo "the server did not start" >&2; exit 1; }
  step "$db: flood"
  "$FLOOD" --url "$BASE" --duration "$DURATION" --abusers "$ABUSERS" --scenarios "$SCENARIOS" \
    | tee "$RESULTS/flood-$db.jsonl" >&2
  stop_server
  if [[ "$db" == postgres ]]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
  fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS/machine.txt" >&2

python3 - "$RESULTS" $DATABASES <<'PY'
import json, sys, os
results, dbs = sys.argv[1], sys.argv[2:]
print("| database | abuse | cheap p50 alone | p50 during | p99 alone | p99 during | abusive requests: outcomes |")
print("|---|---|---|---|---|---|---|")
for db in dbs:
    path = os.path.join(results, f"flood-{db}.jsonl")
    if not os.path.exists(path):
        continue
    for line in open(path):
        r = json.loads(line)
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(r["abuse_outcomes"].items(), key=lambda kv: -kv[1]))
        a, d = r["alone"], r["during"]
        print(f"| {db} | {r['scenario']} | {a['p50_ms']:.1f} ms | {d['p50_ms']:.1f} ms | {a['p99_ms']:.1f} ms | {d['p99_ms']:.1f} ms | {outcomes} |")
PY
