#!/usr/bin/env bash
# Image rendition benchmark: requests/s and latency of serving one cached product-photo
# rendition (GET /images/{hash}/480.jpg, as a storefront's grid asks for it), at 32
# connections, and of the same request revalidated (If-None-Match -> 304). The server runs
# on the demo catalog (SQLite; serving a rendition reads no database, so the database does
# not matter) with its images in a temporary folder.
#
#   bash bench/images.sh
#
# Knobs (environment): BENCH_CONNECTIONS (32), BENCH_DURATION (15 s), BENCH_WARMUP (3 s),
# BENCH_PORT (18090), BENCH_THREADS (wrk threads, 1). Needs wrk (Debian: apt-get install
# wrk), curl and python3. Raw wrk output goes to bench/results/images-<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/solidarity-market/target}"
export CARGO_TERM_COLOR=never
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
DURATION="${BENCH_DURATION:-15}"
WARMUP="${BENCH_WARMUP:-3}"
PORT="${BENCH_PORT:-18090}"
THREADS="${BENCH_THREADS:-1}"
BASE="http://127.0.0.1:$PORT"
RESULTS="bench/results/images-$(date -u +%Y%m%dT%H%M%SZ)"
WORK="$(mktemp -d)"
SERVER_PID=""

step() { printf '\n=== %s\n' "$*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v wrk >/dev/null || fail "wrk is not installed (apt-get install wrk)"
mkdir -p "$RESULTS"

step "build (release)"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/solidarity-market"

step "server on the demo catalog"
DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" IMAGE_STORE="$WORK/images" BIND_ADDR="127.0.0.1:$PORT" \
  LOG_LEVEL=warn "$BIN" serve >"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  curl -fs "$BASE/health" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "$BASE/health" >/dev/null || fail "the server did not start (see $RESULTS/server.log)"

URL_PATH=$(curl -fs "$BASE/graphql" -H 'Content-Type: application/json' \
  -d '{"query":"{ products(first: 1) { nodes { featuredImage { url(width: 480) } } } }"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["products"]["nodes"][0]["featuredImage"]["url"])')
[[ "$URL_PATH" == /images/*/480.jpg ]] || fail "unexpected rendition URL: $URL_PATH"
URL="$BASE$URL_PATH"

# The first request makes the rendition; the benchmark measures the cached one.
HEADERS=$(curl -fs -D - -o "$WORK/first.jpg" "$URL")
grep -qi '^content-type: image/jpeg' <<<"$HEADERS" || fail "not a JPEG: $HEADERS"
grep -qi '^cache-control: public, max-age=31536000, immutable' <<<"$HEADERS" || fail "no immutable caching: $HEADERS"
ETAG=$(grep -i '^etag:' <<<"$HEADERS" | cut -d' ' -f2- | tr -d '\r')
BYTES=$(stat -c %s "$WORK/first.jpg")
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$URL")
[[ "$STATUS" == 304 ]] || fail "If-None-Match answered $STATUS"
echo "rendition $URL_PATH: $BYTES bytes, ETag $ETAG" >&2

# Every answer must be the rendition itself (status and length), or the run measures errors.
cat >"$WORK/check.lua" <<'LUA'
local bad = 0
response = function(status, headers, body)
  if status ~= tonumber(os.getenv("WANT_STATUS")) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("wrong answers: %d\n", bad))
end
LUA

run() {
  local name="$1"
  shift
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$@" "$URL" >/dev/null
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/check.lua" "$@" "$URL" \
    | tee "$RESULTS/$name.txt" >&2
  grep -q '^wrong answers: 0$' "$RESULTS/$name.txt" || fail "$name: some answers were wrong"
}

step "GET the cached rendition ($CONNECTIONS connections, ${DURATION}s)"
export WANT_STATUS=200
run rendition
step "revalidate it: If-None-Match -> 304"
export WANT_STATUS=304
run revalidate -H "If-None-Match: $ETAG"

rps() { awk '/^Requests\/sec/ { print $2 }' "$RESULTS/$1.txt"; }
lat() { awk -v p="$2" '$1 == p { print $2 }' "$RESULTS/$1.txt"; }
echo
echo "| request | connections | req/s | p50 | p99 |"
echo "|---|---|---|---|---|"
echo "| GET rendition 480.jpg ($BYTES bytes, 200) | $CONNECTIONS | $(rps rendition) | $(lat rendition 50%) | $(lat rendition 99%) |"
echo "| same with If-None-Match (304) | $CONNECTIONS | $(rps revalidate) | $(lat revalidate 50%) | $(lat revalidate 99%) |"
