#!/usr/bin/env bash
# Catalog listing benchmark: requests/s and p50/p99 latency of the storefront's 20-product
# listing (cooperative, region, segment, certifications, price, stock) on a catalog of the
# market's size (`seed --profile market`: 424 cooperatives, 5,000 products), at 1 and 32
# connections, on SQLite and on PostgreSQL, with GET /health as the baseline.
#
#   bash bench/catalog.sh                      # everything, about 8 minutes
#   BENCH_DATABASES=sqlite BENCH_SCENARIOS=list BENCH_SERVER_ARGS="--dataloader-delay-us 0" \
#     bash bench/catalog.sh                    # one database, one scenario, other server flags
#
# Knobs (environment): BENCH_DATABASES ("sqlite postgres"), BENCH_SCENARIOS ("health list
# page2"; also "filtered"), BENCH_CONNECTIONS ("1 32"), BENCH_DURATION (15 s per run of the
# listing, 5 s for the baseline), BENCH_WARMUP (3 s), BENCH_REPEAT (3 runs, the median is
# reported), BENCH_PORT (18080), BENCH_SERVER_ARGS (extra server flags), PG_URL
# (postgres://postgres@127.0.0.1:5432; the database sm_bench is dropped and recreated).
# Loopback only. Raw oha output goes to bench/results/catalog-<UTC time>/ (git-ignored); the
# summary is printed as a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
export CARGO_TERM_COLOR=never
OHA_VERSION=1.16.0
TOOLS="${BENCH_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/solidarity-market/bench-tools}"
DATABASES="${BENCH_DATABASES:-sqlite postgres}"
SCENARIOS="${BENCH_SCENARIOS:-health list page2}"
CONNECTIONS="${BENCH_CONNECTIONS:-1 32}"
DURATION="${BENCH_DURATION:-15}"
WARMUP="${BENCH_WARMUP:-3}"
REPEAT="${BENCH_REPEAT:-3}"
PORT="${BENCH_PORT:-18080}"
SERVER_ARGS="${BENCH_SERVER_ARGS:-}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_DB=sm_bench
BASE="http://127.0.0.1:$PORT"
RESULTS="bench/results/catalog-$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$(mktemp -d)"
SERVER_PID=""

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

step "build (release)"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/solidarity-market"

step "load tool: oha $OHA_VERSION"
OHA="$TOOLS/bin/oha"
if ! { [[ -x "$OHA" ]] && "$OHA" --version | grep -q " $OHA_VERSION"; }; then
  cargo install oha --version "$OHA_VERSION" --locked --quiet --root "$TOOLS"
fi
"$OHA" --version >&2

# The benchmarked selection: what a storefront's product grid shows.
SELECTION='pageInfo { hasNextPage endCursor }
    nodes {
      sku name format
      price { amount currencyCode }
      stock { available }
      segment { slug name }
      cooperative { name region { code name } }
      certifications { type number expiresOn }
    }'
LIST_QUERY="query Listing(\$after: String) { products(first: 20, after: \$after) { $SELECTION } }"
FILTERED_QUERY="query Filtered { products(first: 20, filter: { kind: TERROIR, region: \"MA-09\", inStock: true }, sort: { field: PRICE, direction: ASC }) { totalCount $SELECTION } }"

# body FILE QUERY [VARIABLES-JSON]: writes a GraphQL-over-HTTP request body.
body() {
  local vars='{}'
  [[ $# -ge 3 ]] && vars=$3
  python3 - "$1" "$2" "$vars" <<'PY'
import json, sys
path, query, variables = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(path, "w") as f:
    json.dump({"query": query, "variables": variables}, f)
PY
}

# check_listing BODY-FILE OUT-CURSOR-FILE: posts the request once and fails unless the
# answer is 200, has no `errors` and holds 20 complete products (GraphQL answers 200 even
# when a request failed, so a load test must look at the bodies).
check_listing() {
  local response="$WORK/response.json" status
  status=$(curl -sS -o "$response" -w '%{http_code}' -H 'content-type: application/json' \
    --data-binary "@$1" "$BASE/graphql")
  [[ "$status" == 200 ]] || fail "listing answered HTTP $status: $(head -c 500 "$response")"
  python3 - "$response" "$2" <<'PY' || fail "listing response is not a complete page: $(head -c 800 "$response")"
import json, sys
r = json.load(open(sys.argv[1]))
assert "errors" not in r, r.get("errors")
page = r["data"]["products"]
nodes = page["nodes"]
assert len(nodes) == 20, f"{len(nodes)} products"
for n in nodes:
    assert n["cooperative"]["region"]["code"].startswith("MA-"), n
    assert n["segment"]["slug"] and n["price"]["currencyCode"] == "MAD", n
    assert isinstance(n["certifications"], list) and n["stock"]["available"] >= 0, n
certified = sum(1 for n in nodes if n["certifications"])
print(f"ok: 20 products, {certified} with certifications, first {nodes[0]['sku']}", file=sys.stderr)
open(sys.argv[2], "w").write(page["pageInfo"]["endCursor"])
PY
}

# load NAME CONNECTIONS SECONDS ARGS...: one oha run, JSON kept under $RESULTS.
load() {
  local name=$1 conns=$2 secs=$3
  shift 3
  "$OHA" --no-tui --output-format json -w -z "${secs}s" -c "$conns" "$@" >"$RESULTS/$name.json"
}

# Other work on the machine while measuring (a build, another load generator): the runs
# it overlapped are listed in disturbed.txt and flagged in the summary.
busy() {
  local others
  others=$(for name in cargo rustc oha wrk; do pgrep -x "$name"; done | tr '\n' ' ')
  [[ -z "$others" ]] || echo "busy(pids $others)"
}

# measure DB SCENARIO: warm-up, then $REPEAT runs per connection count.
measure() {
  local db=$1 scenario=$2 secs=$DURATION args=()
  case "$scenario" in
    health)
      secs=$((DURATION < 5 ? DURATION : 5))
      args=("$BASE/health")
      ;;
    list | page2 | filtered)
      args=(-m POST -H 'content-type: application/json' -D "$WORK/$scenario.json" "$BASE/graphql")
      ;;
    *) fail "unknown scenario $scenario" ;;
  esac
  for conns in $CONNECTIONS; do
    "$OHA" --no-tui --output-format json -w -z "${WARMUP}s" -c "$conns" "${args[@]}" >/dev/null
    for run in $(seq 1 "$REPEAT"); do
      echo "  $db $scenario c=$conns run $run/$REPEAT (${secs}s)" >&2
      busy_before=$(busy)
      load "$db-$scenario-c$conns-r$run" "$conns" "$secs" "${args[@]}"
      if [[ -n "$busy_before$(busy)" ]]; then
        echo "$db-$scenario-c$conns-r$run: $busy_before $(busy)" >>"$RESULTS/disturbed.txt"
      fi
    done
  done
}

start_server() {
  local url=$1 log=$2
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

for db in $DATABASES; do
  case "$db" in
    sqlite) url="sqlite://$WORK/bench.db?mode=rwc" ;;
    postgres)
      pg_isready -h 127.0.0.1 -p 5432 -q || fail "PostgreSQL is not running at $PG_URL"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
      psql "$PG_URL/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
      url="$PG_URL/$PG_DB"
      ;;
    *) fail "unknown database $db (sqlite or postgres)" ;;
  esac

  step "$db: seed the market catalog"
  start=$(date +%s%N)
  "$BIN" --database-url "$url" --log-level info seed --profile market
  echo "$db: seeded in $((($(date +%s%N) - start) / 1000000)) ms" | tee -a "$RESULTS/seed.txt" >&2
  if [[ "$db" == postgres ]]; then
    psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  fi

  step "$db: serve on $BASE ${SERVER_ARGS:+($SERVER_ARGS)}"
  start_server "$url" "$RESULTS/$db-server.log"
  body "$WORK/list.json" "$LIST_QUERY"
  check_listing "$WORK/list.json" "$WORK/cursor"
  body "$WORK/page2.json" "$LIST_QUERY" "{\"after\": \"$(cat "$WORK/cursor")\"}"
  check_listing "$WORK/page2.json" "$WORK/cursor2"
  body "$WORK/filtered.json" "$FILTERED_QUERY"
  if [[ " $SCENARIOS " == *" filtered "* ]]; then
    check_listing "$WORK/filtered.json" "$WORK/cursor3"
  fi

  step "$db: measure ($SCENARIOS) at $CONNECTIONS connections"
  for scenario in $SCENARIOS; do
    measure "$db" "$scenario"
  done
  stop_server
done

step "results in $RESULTS"
{
  echo "command: BENCH_DATABASES=\"$DATABASES\" BENCH_SCENARIOS=\"$SCENARIOS\" BENCH_CONNECTIONS=\"$CONNECTIONS\" BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_REPEAT=$REPEAT BENCH_SERVER_ARGS=\"$SERVER_ARGS\" bash bench/catalog.sh"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "oha: $("$OHA" --version)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
  echo "memory: $(free -h | awk '/Mem:/ {print $2}')"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

# Median of the runs of each database × scenario × connections; fails on any non-200
# status or transport error in any run.
python3 - "$RESULTS" <<'PY' | tee "$RESULTS/summary.md"
import glob, json, os, re, statistics, sys
rows, bad = {}, []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*-r*.json"))):
    name = os.path.basename(path)[:-5]
    db, scenario, conns, _ = re.match(r"(\w+)-(\w+)-c(\d+)-r(\d+)$", name).groups()
    r = json.load(open(path))
    codes = r.get("statusCodeDistribution", {})
    errors = r.get("errorDistribution", {})
    if set(codes) - {"200"} or errors or not codes:
        bad.append(f"{name}: status {codes} errors {errors}")
    p = r["latencyPercentiles"]
    rows.setdefault((db, scenario, int(conns)), []).append(
        (r["summary"]["requestsPerSec"], p["p50"] * 1000, p["p99"] * 1000))
order = {"health": 0, "list": 1, "page2": 2, "filtered": 3}
label = {"health": "GET /health (baseline)", "list": "listing, page 1",
         "page2": "listing, page 2 (after:)", "filtered": "filtered listing + totalCount"}
print("| database | request | connections | requests/s | p50 (ms) | p99 (ms) | runs |")
print("|---|---|---:|---:|---:|---:|---:|")
for (db, scenario, conns), runs in sorted(rows.items(), key=lambda kv: (kv[0][0] != "sqlite", order.get(kv[0][1], 9), kv[0][2])):
    rps, p50, p99 = (statistics.median(x) for x in zip(*runs))
    spread = f"{min(r[0] for r in runs):.0f}–{max(r[0] for r in runs):.0f}"
    print(f"| {db} | {label.get(scenario, scenario)} | {conns} | {rps:,.0f} ({spread}) | {p50:.2f} | {p99:.2f} | {len(runs)} |")
disturbed = os.path.join(sys.argv[1], "disturbed.txt")
if os.path.exists(disturbed):
    n, total = len(open(disturbed).readlines()), sum(len(r) for r in rows.values())
    print(f"\n{n} of {total} runs overlapped a build or another load generator on the machine"
          " (see disturbed.txt): the figures are pessimistic.", file=sys.stderr)
if bad:
    print("\nFAILED requests:\n" + "\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
