#!/usr/bin/env bash
# Storefront reads side by side with PostGraphile 4 (issue #13): requests/s, p50/p99
# latency and CPU time per request of the storefront's public reads, served by this
# server on SQLite and on PostgreSQL and by PostGraphile 4 on the same PostgreSQL
# database, in alternating rounds, on the market-scale catalog (`seed --profile market`:
# 424 cooperatives, 5,000 products, 4,733 sellable).
#
#   bash bench/storefront.sh                                   # everything, ~30 minutes
#   bash bench/storefront.sh --duration 5 --repeat 3           # shorter runs
#   bash bench/storefront.sh --scenarios "list product" --connections 32 --targets "postgres postgraphile"
#   bash bench/storefront.sh --response-cache off              # any other flag goes to our server
#   bash bench/storefront.sh --alt-args "--response-cache off" --alt-label uncached \
#     --targets "postgres postgres-alt postgraphile"            # two configurations of ours, one run
#
# One run: release build; the market catalog seeded into a SQLite file and into a
# PostgreSQL database (then VACUUM ANALYZE); PostGraphile 4 (pinned in
# bench/storefront/package-lock.json) installed with `npm ci` into a cache directory
# outside the repository; the peer's views created in their own schema
# (bench/storefront/peer.sql: sellable products only, a product's certifications = its
# cooperative's valid ones covering it — the application's rules); every server started on
# 127.0.0.1 on its own port. Then `harness.py check` asks every server every scenario once
# and fails unless all return the same rows in the same order with the same fields. Then,
# for each scenario and connection count, REPEAT rounds; a round runs every server back to
# back (warm-up, then the measured run; the order rotates from round to round) with wrk
# and bench/storefront/check.lua, which checks EVERY response: in `exact` mode it must be
# 200 and byte for byte the checked answer, or those bytes in another order (reordered JSON
# members, counted apart); a GraphQL error answered with 200 fails the run.
# CPU time per request comes from /proc (the server's process, the PostgreSQL backends of
# the benchmark database, wrk), with the load average and the other processes' share of
# the CPU around every run. The summary (medians, p50/p99, ratios ours ÷ PostGraphile) is
# printed as markdown and kept with the raw outputs in bench/results/storefront-<UTC time>/
# (git-ignored). Everything started is stopped at the end, also on failure or Ctrl-C.
#
# Scenarios: health (GET /health, ours only), typename ({ __typename }), list (20-product
# page: price, stock, segment, cooperative with kind and region, certifications), page2
# (the same after page 1's endCursor), filtered (kind TERROIR, region MA-09, inStock, by
# price, totalCount), search (a word, 20 products, totalCount), product (product(sku:)
# with its cooperative and certifications), cooperatives (20 cooperatives with their
# region and first 5 products). Queries: bench/storefront/harness.py.
#
# Options (environment variable in brackets; default after it):
#   --targets LIST       [BENCH_TARGETS] "sqlite postgres postgraphile"; also sqlite-alt
#                        and postgres-alt: ours with --alt-args added
#   --scenarios LIST     [BENCH_SCENARIOS] "health typename list filtered search product cooperatives"
#   --connections LIST   [BENCH_CONNECTIONS] "32 1"
#   --duration S         [BENCH_DURATION] 10 seconds per measured run
#   --warmup S           [BENCH_WARMUP] 2 seconds before each measured run (checked too)
#   --repeat N           [BENCH_REPEAT] 3 rounds; medians are reported
#   --check MODE         [BENCH_CHECK] exact; or data (200, {"data":…}, no "errors"): for
#                        servers whose answers legitimately vary between requests
#   --search WORD        [BENCH_SEARCH] argan
#   --port N             [BENCH_PORT] 18090; sqlite N, postgres N+1, postgraphile N+2,
#                        sqlite-alt N+3, postgres-alt N+4
#   --pg-db NAME         [BENCH_PG_DB] sm_bench_storefront (dropped and recreated; dropped
#                        at the end unless --keep-db [BENCH_KEEP_DB=1])
#   --peer-workers N     [BENCH_PEER_WORKERS] 1: PostGraphile's --cluster-workers when > 1
#   --peer-pool N        [BENCH_PEER_POOL] 16: PostGraphile's pool (ours defaults to 16)
#   --wrk-threads N      [BENCH_WRK_THREADS] 1 (at most the connection count)
#   --alt-args "FLAGS"   [BENCH_ALT_ARGS] flags of the -alt targets, e.g. "--response-cache off"
#   --alt-label TEXT     [BENCH_ALT_LABEL] "alt": how the -alt targets are named in the tables
#   --no-build           [BENCH_BUILD=0] use the release binary already in CARGO_TARGET_DIR
#   -- FLAGS…            [BENCH_SERVER_ARGS] flags for our server; so is any option this
#                        script does not know (they reach every ours target)
# Also PG_URL (postgres://postgres@127.0.0.1:5432), CARGO_TARGET_DIR, BENCH_TOOLS_DIR
# (~/.cache/solidarity-market/bench-tools: PostGraphile's node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
export CARGO_TERM_COLOR=never
TOOLS="${BENCH_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/solidarity-market/bench-tools}"
TARGETS="${BENCH_TARGETS:-sqlite postgres postgraphile}"
SCENARIOS="${BENCH_SCENARIOS:-health typename list filtered search product cooperatives}"
CONNECTIONS="${BENCH_CONNECTIONS:-32 1}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
REPEAT="${BENCH_REPEAT:-3}"
CHECK_MODE="${BENCH_CHECK:-exact}"
SEARCH="${BENCH_SEARCH:-argan}"
PORT="${BENCH_PORT:-18090}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_DB="${BENCH_PG_DB:-sm_bench_storefront}"
KEEP_DB="${BENCH_KEEP_DB:-0}"
PEER_WORKERS="${BENCH_PEER_WORKERS:-1}"
PEER_POOL="${BENCH_PEER_POOL:-16}"
WRK_THREADS="${BENCH_WRK_THREADS:-1}"
ALT_LABEL="${BENCH_ALT_LABEL:-alt}"
BUILD="${BENCH_BUILD:-1}"
read -r -a SERVER_ARGS <<<"${BENCH_SERVER_ARGS:-}"
read -r -a ALT_ARGS <<<"${BENCH_ALT_ARGS:-}"
printf -v COMMAND_LINE '%q ' bash bench/storefront.sh "$@"

step() { printf '\n=== %s\n' "$*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --targets | --scenarios | --connections | --duration | --warmup | --repeat | --check | \
      --search | --port | --pg-db | --peer-workers | --peer-pool | --wrk-threads | --alt-args | --alt-label)
      [[ $# -ge 2 ]] || fail "$1 needs a value (see bash bench/storefront.sh --help)"
      case "$1" in
        --targets) TARGETS=$2 ;;
        --scenarios) SCENARIOS=$2 ;;
        --connections) CONNECTIONS=$2 ;;
        --duration) DURATION=$2 ;;
        --warmup) WARMUP=$2 ;;
        --repeat) REPEAT=$2 ;;
        --check) CHECK_MODE=$2 ;;
        --search) SEARCH=$2 ;;
        --port) PORT=$2 ;;
        --pg-db) PG_DB=$2 ;;
        --peer-workers) PEER_WORKERS=$2 ;;
        --peer-pool) PEER_POOL=$2 ;;
        --wrk-threads) WRK_THREADS=$2 ;;
        --alt-args) read -r -a ALT_ARGS <<<"$2" ;;
        --alt-label) ALT_LABEL=$2 ;;
      esac
      shift 2
      ;;
    --keep-db) KEEP_DB=1 && shift ;;
    --no-build) BUILD=0 && shift ;;
    -h | --help)
      usage
      exit 0
      ;;
    --) shift && SERVER_ARGS+=("$@") && break ;;
    *) SERVER_ARGS+=("$1") && shift ;; # our server's, e.g. --response-cache off
  esac
done

# ---------------------------------------------------------------------------------------
# Validate the knobs before starting anything.

positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || fail "$1 must be a positive whole number, not '$2'"; }
positive duration "$DURATION"
positive warmup "$WARMUP"
positive repeat "$REPEAT"
positive port "$PORT"
positive peer-workers "$PEER_WORKERS"
positive peer-pool "$PEER_POOL"
positive wrk-threads "$WRK_THREADS"
for c in $CONNECTIONS; do positive connections "$c"; done
[[ -n "${CONNECTIONS// /}" ]] || fail "no connection count given"
[[ "$CHECK_MODE" == exact || "$CHECK_MODE" == data ]] || fail "--check is exact or data, not '$CHECK_MODE'"
[[ "$PG_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || fail "--pg-db must be a plain lower-case name, not '$PG_DB'"
[[ "$SEARCH" =~ ^[a-z0-9][a-z0-9\ ]*$ ]] ||
  fail "--search must be plain lower-case ASCII words (both servers then match it the same way)"
for s in $SCENARIOS; do
  case "$s" in
    health | typename | list | page2 | filtered | search | product | cooperatives) ;;
    *) fail "unknown scenario '$s' (health typename list page2 filtered search product cooperatives)" ;;
  esac
done
[[ -n "${SCENARIOS// /}" ]] || fail "no scenario given"

declare -A KIND LABEL TPORT PID
for t in $TARGETS; do
  [[ -z "${KIND[$t]:-}" ]] || fail "target '$t' given twice"
  case "$t" in
    sqlite) KIND[$t]=ours LABEL[$t]="ours, SQLite" TPORT[$t]=$PORT ;;
    postgres) KIND[$t]=ours LABEL[$t]="ours, PostgreSQL" TPORT[$t]=$((PORT + 1)) ;;
    postgraphile) KIND[$t]=peer LABEL[$t]="PostGraphile 4" TPORT[$t]=$((PORT + 2)) ;;
    sqlite-alt) KIND[$t]=ours LABEL[$t]="ours, SQLite, $ALT_LABEL" TPORT[$t]=$((PORT + 3)) ;;
    postgres-alt) KIND[$t]=ours LABEL[$t]="ours, PostgreSQL, $ALT_LABEL" TPORT[$t]=$((PORT + 4)) ;;
    *) fail "unknown target '$t' (sqlite postgres postgraphile sqlite-alt postgres-alt)" ;;
  esac
  if [[ "$t" == *-alt && ${#ALT_ARGS[@]} -eq 0 ]]; then
    fail "target $t needs --alt-args (the flags that make it differ)"
  fi
done
[[ ${#KIND[@]} -gt 0 ]] || fail "no target given"
uses() { [[ " $TARGETS " == *" $1"* ]]; } # uses sqlite: sqlite or sqlite-alt
USES_PG=0
if uses postgres || uses postgraphile; then USES_PG=1; fi

# ---------------------------------------------------------------------------------------
# Tools: wrk from Debian, Node.js for PostGraphile (installed when missing and root).

need() { # COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing $2 (for $1)" >&2
    apt-get install -y -qq "$2" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$2" >/dev/null 2>&1; } ||
      fail "could not install $2; install it (apt-get install $2) and run again"
  fi
  command -v "$1" >/dev/null || fail "$1 is missing: apt-get install $2"
}
need curl curl
need python3 python3
need wrk wrk
if [[ $USES_PG == 1 ]]; then
  need psql postgresql-client
  need pg_isready postgresql-client
fi
if uses postgraphile; then
  need node nodejs
  need npm npm
fi

RESULTS="bench/results/storefront-$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$(mktemp -d)"
mkdir -p "$RESULTS/runs"
PG_CREATED=0

# stop PID: TERM, then KILL after 10 s; also its children (PostGraphile's workers).
stop() {
  local pid=$1 children
  kill -0 "$pid" 2>/dev/null || return 0
  children=$(pgrep -P "$pid" || true)
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  for child in $children; do
    kill "$child" 2>/dev/null || true
  done
}
cleanup() {
  local status=$?
  for t in "${!PID[@]}"; do
    stop "${PID[$t]}"
  done
  if [[ $PG_CREATED == 1 && $KEEP_DB != 1 ]]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  if [[ $status != 0 ]]; then
    echo "(stopped everything this script started; outputs so far in $RESULTS)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Build, install, seed.

if [[ "$BUILD" == 1 ]]; then
  step "build (release)"
  cargo build --release --quiet --bin solidarity-market
fi
[[ -x "$CARGO_TARGET_DIR/release/solidarity-market" ]] ||
  fail "no release binary in $CARGO_TARGET_DIR/release (run without --no-build)"
# A private copy: a build in the same target directory cannot swap it mid-run.
cp "$CARGO_TARGET_DIR/release/solidarity-market" "$WORK/"
BIN="$WORK/solidarity-market"

if uses postgraphile; then
  # The lock file pins every package; the install directory is named after it, so a
  # change to the pins installs afresh and never mixes versions.
  lock_hash=$(cat bench/storefront/package.json bench/storefront/package-lock.json | sha256sum | cut -c1-12)
  PEER_DIR="$TOOLS/postgraphile-$lock_hash"
  PEER_BIN="$PEER_DIR/node_modules/.bin/postgraphile"
  if [[ ! -f "$PEER_DIR/.installed" ]]; then
    step "install PostGraphile (npm ci, into $PEER_DIR)"
    rm -rf "$PEER_DIR" && mkdir -p "$PEER_DIR"
    cp bench/storefront/package.json bench/storefront/package-lock.json "$PEER_DIR/"
    (cd "$PEER_DIR" && npm ci --omit=dev --no-audit --no-fund --loglevel=error) >&2 ||
      fail "npm ci failed in $PEER_DIR (is the npm registry reachable?)"
    touch "$PEER_DIR/.installed"
  fi
  PEER_VERSION=$("$PEER_BIN" --version)
  echo "PostGraphile $PEER_VERSION, Node.js $(node --version)" >&2
fi

SQLITE_URL="sqlite://$WORK/storefront.db?mode=rwc"
PG_BENCH_URL="$PG_URL/$PG_DB"
seed() { # NAME URL
  local start
  start=$(date +%s%N)
  "$BIN" --database-url "$2" --log-level warn seed --profile market >"$RESULTS/seed-$1.log" 2>&1 ||
    fail "seeding $1 failed: $(tail -5 "$RESULTS/seed-$1.log")"
  echo "$1: seeded in $((($(date +%s%N) - start) / 1000000)) ms" | tee -a "$RESULTS/seed.txt" >&2
}
if uses sqlite; then
  step "SQLite: seed the market catalog"
  seed sqlite "$SQLITE_URL"
fi
if [[ $USES_PG == 1 ]]; then
  step "PostgreSQL: seed the market catalog into $PG_DB, the peer's views, VACUUM ANALYZE"
  pg_isready -q -d "$PG_URL/postgres" ||
    fail "PostgreSQL is not answering at $PG_URL (start it: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start)"
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
  psql "$PG_URL/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
  PG_CREATED=1
  seed postgres "$PG_BENCH_URL"
  psql "$PG_BENCH_URL" -q -v ON_ERROR_STOP=1 -f bench/storefront/peer.sql >/dev/null 2>"$WORK/peer-sql.err" ||
    fail "bench/storefront/peer.sql: $(cat "$WORK/peer-sql.err")"
  psql "$PG_BENCH_URL" -qc "VACUUM ANALYZE" >/dev/null
  psql "$PG_BENCH_URL" -Atc "SELECT (SELECT count(*) FROM products) || ' products, '
      || (SELECT count(*) FROM storefront_peer.product) || ' sellable, '
      || (SELECT count(*) FROM cooperatives) || ' cooperatives, '
      || (SELECT count(*) FROM certifications) || ' certifications'" | tee "$RESULTS/data.txt" >&2
fi

# ---------------------------------------------------------------------------------------
# Servers: one per target, all on loopback, all running during the whole measurement
# (the idle ones cost nothing, and the rounds can alternate without restarts).

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() { # TARGET
  local t=$1 port=${TPORT[$1]} log="$RESULTS/$1-server.log" url ready
  listening "$port" && fail "something already listens on 127.0.0.1:$port (choose another --port)"
  if [[ ${KIND[$t]} == ours ]]; then
    url=$PG_BENCH_URL
    [[ $t == sqlite* ]] && url=$SQLITE_URL
    local args=("${SERVER_ARGS[@]}")
    [[ $t == *-alt ]] && args+=("${ALT_ARGS[@]}")
    "$BIN" --database-url "$url" --bind-addr "127.0.0.1:$port" --seed-demo false --log-level warn \
      "${args[@]}" serve >"$log" 2>&1 &
    PID[$t]=$!
    ready=(curl -fsS -o /dev/null "http://127.0.0.1:$port/health")
  else
    # Production settings: no query log, no GraphiQL, no mutations (read-only peer),
    # NODE_ENV=production. The simplify inflector only renames fields (`products`
    # instead of `allProducts`, `cooperative` instead of `cooperativeByCooperativeId`), so
    # the two APIs' queries read alike; it changes no SQL. No JWT, so no transaction or
    # set_config per request: one statement per query.
    local workers=()
    [[ $PEER_WORKERS -gt 1 ]] && workers=(--cluster-workers "$PEER_WORKERS")
    NODE_ENV=production "$PEER_BIN" --connection "$PG_BENCH_URL" --schema storefront_peer \
      --host 127.0.0.1 --port "$port" --max-pool-size "$PEER_POOL" \
      --disable-query-log --disable-graphiql --disable-default-mutations \
      --no-setof-functions-contain-nulls --legacy-relations omit \
      --append-plugins @graphile-contrib/pg-simplify-inflector "${workers[@]}" >"$log" 2>&1 &
    PID[$t]=$!
    ready=(curl -fsS -o /dev/null -H 'content-type: application/json'
      --data '{"query":"{ __typename }"}' "http://127.0.0.1:$port/graphql")
  fi
  for _ in $(seq 1 300); do
    "${ready[@]}" 2>/dev/null && return 0
    kill -0 "${PID[$t]}" 2>/dev/null ||
      fail "${LABEL[$t]} exited at start${SERVER_ARGS[*]:+ (extra flags: ${SERVER_ARGS[*]} ${ALT_ARGS[*]})}: $(tail -5 "$log")"
    sleep 0.2
  done
  fail "${LABEL[$t]} did not answer on 127.0.0.1:$port within 60 s: $(tail -5 "$log")"
}

step "start: $(for t in $TARGETS; do printf '%s on 127.0.0.1:%s  ' "$t" "${TPORT[$t]}"; done)"
[[ ${#SERVER_ARGS[@]} -eq 0 ]] || echo "our server's extra flags: ${SERVER_ARGS[*]}" >&2
for t in $TARGETS; do start "$t"; done

step "check: every server, every scenario, same rows"
check_args=()
for t in $TARGETS; do
  check_args+=(--target "$t=${KIND[$t]}=http://127.0.0.1:${TPORT[$t]}")
done
python3 bench/storefront/harness.py check --out "$RESULTS/check" --search "$SEARCH" \
  --scenarios "$SCENARIOS" "${check_args[@]}"

# ---------------------------------------------------------------------------------------
# Measurement.

# ticks PID…: "pid ticks" lines, ticks = user + system time of the process, all its
# threads, in clock ticks (fields 14 and 15 of /proc/PID/stat, after the command name).
ticks() {
  local pid stat fields
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a fields <<<"${stat##*) }"
    echo "$pid $((fields[11] + fields[12]))"
  done
}
# The processes of a target's server (PostGraphile's workers are children of its master).
server_pids() {
  echo "${PID[$1]}"
  pgrep -P "${PID[$1]}" || true
}
# PostgreSQL backends of the benchmark database ("postgres: [CLUSTER: ]USER DB HOST(PORT)
# STATE"); only the server under load keeps them busy.
pg_pids() { pgrep -f "^postgres: ([^ ]+: )?[^ ]+ $PG_DB " || true; }
# CPU ticks used between two `ticks` snapshots, by the processes of the second.
used() { awk 'NR == FNR { before[$1] = $2; next } { total += $2 - before[$1] } END { print total + 0 }' "$1" "$2"; }
machine() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6; exit }' /proc/stat; }
compilers() { pgrep -xc 'rustc|cargo' || true; }
to_ms() { awk -v t="$1" 'BEGIN { split(t, a, "m"); sub("s", "", a[2]); printf "%.0f", (a[1] * 60 + a[2]) * 1000 }'; }

# wrk_run TARGET SCENARIO CONNECTIONS SECONDS REPORT OUTPUT: one checked wrk run.
wrk_run() {
  local t=$1 scenario=$2 conns=$3 secs=$4 path=/graphql body
  body="$RESULTS/check/requests/${t}__$scenario.json"
  if [[ $scenario == health ]]; then
    path=/health
    body=""
  fi
  CHECK_BODY=$body CHECK_EXPECT="$RESULTS/check/expected/${t}__$scenario.body" CHECK_MODE=$CHECK_MODE \
    CHECK_REPORT=$5 wrk -t "$((conns < WRK_THREADS ? conns : WRK_THREADS))" -c "$conns" -d "${secs}s" \
    --timeout 30s --latency -s bench/storefront/check.lua "http://127.0.0.1:${TPORT[$t]}$path" >"$6"
}

# Fails the whole run on the first bad response or transport error.
require_clean() { # REPORT WHAT
  python3 - "$1" "$2" <<'PY' || exit 1
import json, os, sys
path, what = sys.argv[1], sys.argv[2]
r = json.load(open(path))
errors = {k: v for k, v in r["errors"].items() if v}
if r["bad"] or errors or not r["requests"]:
    sample = open(path + ".bad", errors="replace").read(1500) if os.path.exists(path + ".bad") else ""
    print(f"FAIL: {what}: {r['requests']} requests, {r['bad']} bad responses, transport/status errors {errors}"
          f"\n  first bad response: {sample}", file=sys.stderr)
    sys.exit(1)
PY
}

measure() { # TARGET SCENARIO CONNECTIONS ROUND
  local t=$1 scenario=$2 conns=$3 round=$4
  local name="${t}__${scenario}__c${conns}__r$round" run="$RESULTS/runs"
  local server pg busy0 total0 busy1 total1 load0 load1 comp0 comp1 cpu status=0
  wrk_run "$t" "$scenario" "$conns" "$WARMUP" "$WORK/warmup.json" "$WORK/warmup.txt" ||
    fail "wrk failed warming up $name: $(tail -3 "$WORK/warmup.txt")"
  require_clean "$WORK/warmup.json" "$name (warm-up)"
  # shellcheck disable=SC2046 # the lists of pids
  {
    ticks $(server_pids "$t") >"$WORK/s0"
    ticks $(pg_pids) >"$WORK/p0"
  }
  read -r busy0 total0 < <(machine)
  load0=$(cut -d' ' -f1 /proc/loadavg) comp0=$(compilers)
  # `times` in the subshell gives the CPU time of its only child, wrk.
  (
    set +e
    wrk_run "$t" "$scenario" "$conns" "$DURATION" "$run/$name.wrk.json" "$run/$name.txt"
    rc=$?
    times >"$WORK/times"
    exit $rc
  ) || status=$?
  read -r busy1 total1 < <(machine)
  load1=$(cut -d' ' -f1 /proc/loadavg) comp1=$(compilers)
  # shellcheck disable=SC2046
  {
    ticks $(server_pids "$t") >"$WORK/s1"
    ticks $(pg_pids) >"$WORK/p1"
  }
  [[ $status == 0 ]] || fail "wrk failed on $name: $(tail -3 "$run/$name.txt")"
  server=$(used "$WORK/s0" "$WORK/s1") pg=$(used "$WORK/p0" "$WORK/p1")
  read -r -a cpu < <(tail -1 "$WORK/times")
  printf '{"clk_tck": %d, "server_ticks": %d, "pg_ticks": %d, "wrk_cpu_ms": %d, "machine_busy_ticks": %d, "machine_total_ticks": %d, "load_before": "%s", "load_after": "%s", "compilers_before": %d, "compilers_after": %d}\n' \
    "$(getconf CLK_TCK)" "$server" "$pg" "$(($(to_ms "${cpu[0]}") + $(to_ms "${cpu[1]}")))" \
    "$((busy1 - busy0))" "$((total1 - total0))" "$load0" "$load1" "$comp0" "$comp1" >"$run/$name.meta.json"
  require_clean "$run/$name.wrk.json" "$name"
  python3 - "$run/$name.wrk.json" "$name" "$load1" <<'PY' >&2
import json, sys
r = json.load(open(sys.argv[1]))
rate = r["requests"] / (r["duration_us"] / 1e6)
reordered = f", {r['reordered']} reordered" if r.get("reordered") else ""
print(f"  {sys.argv[2]}: {rate:,.0f} req/s, p50 {r['latency_us']['p50'] / 1000:.2f} ms, "
      f"p99 {r['latency_us']['p99'] / 1000:.2f} ms (load {sys.argv[3]}{reordered})")
PY
}

read -r -a target_list <<<"$TARGETS"
runs=0
for scenario in $SCENARIOS; do
  for conns in $CONNECTIONS; do
    for t in $TARGETS; do
      [[ $scenario == health && ${KIND[$t]} != ours ]] || runs=$((runs + REPEAT))
    done
  done
done
step "measure: $runs runs of ${DURATION}s (+${WARMUP}s warm-up), about $(((runs * (DURATION + WARMUP + 1) + 59) / 60)) minutes; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
for scenario in $SCENARIOS; do
  for conns in $CONNECTIONS; do
    for round in $(seq 1 "$REPEAT"); do
      # Back to back, starting from a different server each round.
      for i in "${!target_list[@]}"; do
        t=${target_list[$(((i + round - 1) % ${#target_list[@]}))]}
        [[ $scenario == health && ${KIND[$t]} != ours ]] && continue
        measure "$t" "$scenario" "$conns" "$round"
      done
    done
  done
done
for t in "${!PID[@]}"; do stop "${PID[$t]}"; done

step "results in $RESULTS"
{
  echo "command: $COMMAND_LINE"
  echo "settings: targets \"$TARGETS\", scenarios \"$SCENARIOS\", connections \"$CONNECTIONS\", ${DURATION}s runs after ${WARMUP}s warm-up, $REPEAT rounds, check $CHECK_MODE, search \"$SEARCH\", wrk threads $WRK_THREADS, our server's flags \"${SERVER_ARGS[*]}\"${ALT_ARGS[*]:+, $ALT_LABEL flags \"${ALT_ARGS[*]}\"}"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
  uses postgraphile && echo "peer: PostGraphile $PEER_VERSION (Node.js $(node --version)), pool $PEER_POOL, workers $PEER_WORKERS"
  echo "load tool: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), threads $WRK_THREADS"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores; memory $(free -h | awk '/Mem:/ {print $2}')"
  echo "os: $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release), kernel $(uname -r)"
  [[ $USES_PG == 1 ]] && echo "postgresql: $(psql "$PG_URL/postgres" -Atc 'SHOW server_version')"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2
echo >&2
labels=()
for t in $TARGETS; do labels+=(--label "$t=${LABEL[$t]}"); done
python3 bench/storefront/harness.py summary --out "$RESULTS" --targets "$TARGETS" \
  --scenarios "$SCENARIOS" --connections "$CONNECTIONS" "${labels[@]}" | tee "$RESULTS/summary.md"
