#!/usr/bin/env bash
# Load test of a release build on this machine (server and load generator share the cores).
# Needs `wrk` (Debian package). Usage: scripts/load.sh [seconds] [sqlite|postgres]
# (defaults: 10 s, sqlite). postgres uses a fresh database on $PG_URL
# (default postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
# Measures: invitations created through the API, authenticated member-list reads (page of 50,
# 64 connections) and logins, and prints one line per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-10}"
BACKEND="${2:-sqlite}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 2; }
cargo build --release -p roster >/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release/roster"
DATA="$(mktemp -d)"
PORT="${PORT:-18080}"
BASE="http://127.0.0.1:$PORT"
export ROSTER_DATA_DIR="$DATA" ROSTER_LISTEN="127.0.0.1:$PORT" ROSTER_LOG=warn
DB=""
if [ "$BACKEND" = postgres ]; then
  DB="roster_load_$$"
  psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
  export ROSTER_DATABASE_URL="${PG_URL%/*}/$DB"
fi
PASSWORD='Blue-Kettle-42'
EMAIL='admin@load.test'

out=$("$BIN" app create --name Load --seats 100000 --admin-email "$EMAIL" --admin-first-name Ada)
TOKEN_URL=$(echo "$out" | sed -n 's/^Accept link: //p')
APP=$(echo "$out" | sed -n 's/.*App ID \([a-z0-9]*\)$/\1/p')
"$BIN" serve >"$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() {
  kill $SERVER 2>/dev/null || true
  wait $SERVER 2>/dev/null || true
  rm -rf "$DATA"
  if [ -n "$DB" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true; fi
}
trap cleanup EXIT
for _ in $(seq 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done
INV="${TOKEN_URL##*/}"
curl -fs -X POST "$BASE/api/v1/invitations/$INV/accept" -H 'content-type: application/json' \
  -d "{\"first_name\":\"Ada\",\"password\":\"$PASSWORD\",\"security_question\":\"first_car\",\"security_answer\":\"volvo\",\"accept_terms\":true}" >/dev/null
export TOKEN EMAIL PASSWORD
TOKEN=$(curl -fs -X POST "$BASE/api/v1/session" -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | sed 's/.*"token":"\([^"]*\)".*/\1/')

echo "== machine: $(nproc) cores; backend: $BACKEND"
echo "== invitations through the API (16 connections, ${DUR}s)"
wrk -t2 -c16 -d"${DUR}s" -s scripts/wrk/invite.lua "$BASE/api/v1/apps/$APP/invitations" | grep -E "Requests/sec|Latency|Non-2xx"
echo "== member list, page of 50 (64 connections, ${DUR}s)"
wrk -t2 -c64 -d"${DUR}s" --latency -s scripts/wrk/auth.lua "$BASE/api/v1/apps/$APP/members?limit=50" | grep -E "Requests/sec|p50=|Non-2xx"
echo "== logins (4 connections, ${DUR}s)"
wrk -t2 -c4 -d"${DUR}s" -s scripts/wrk/login.lua "$BASE/api/v1/session" | grep -E "Requests/sec|Latency|Non-2xx"
