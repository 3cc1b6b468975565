#!/usr/bin/env bash
# Every performance figure of docs/benchmarks.md in one run, each as a ratio to a ceiling measured
# in the same run on the same machine, so that machine drift cancels.
#
# Usage: scripts/bench.sh [seconds per figure]        (default 10)
# Env:   BACKENDS="sqlite postgres"  LOGIN_SECS=60  IDLE_SECS=20  P99_SECS=5  BULK_ROWS=100000
#        PG_URL=postgres://postgres@127.0.0.1:5432/postgres  OUT=<file for the table>
#        ONLY_P99=1: only the p99 figures of the member list (1k and 100k members; no load figures)
# Needs: wrk (Debian package), and PostgreSQL at $PG_URL for the postgres rows.
#
# Release build; server, load generator (and PostgreSQL) share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
D="${1:-10}"
LOGIN_SECS="${LOGIN_SECS:-60}"
IDLE_SECS="${IDLE_SECS:-20}"
P99_SECS="${P99_SECS:-5}"
BULK_ROWS="${BULK_ROWS:-100000}"
BIG="${BIG:-100000}"
BACKENDS="${BACKENDS:-sqlite postgres}"
ONLY_P99="${ONLY_P99:-}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
OUT="${OUT:-}"
command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 2; }

echo "== building (release)" >&2
cargo build --release --locked -p roster --bin roster -p roster-testkit --example benchtool >&2
REL="${CARGO_TARGET_DIR:-target}/release"
BIN="$REL/roster"
TOOL="$REL/examples/benchtool"
WORK="$(mktemp -d)"
RES="$WORK/results"
: >"$RES"
PORT="${PORT:-18080}"
BASE="http://127.0.0.1:$PORT"
PASSWORD='Blue-Kettle-42'
EMAIL='admin@load.test'
SERVER=""
DBS=()
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  for db in "${DBS[@]}"; do psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

rec() { echo "$1 $2" >>"$RES"; echo "   $1 = $2" >&2; }
get() { awk -v k="$1" '$1 == k { print $2 }' "$RES" | tail -n1; }
ratio() { awk -v a="$(get "$1")" -v b="$(get "$2")" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.3f", a / b }'; }
pg_db() { local db="roster_bench_$$_$1"; psql "$PG_URL" -qc "CREATE DATABASE $db" >/dev/null; DBS+=("$db"); echo "${PG_URL%/*}/$db"; }

# wrk_run <connections> <seconds> <lua script or -> <url>: prints "rate total non2xx p99ms"
wrk_run() {
  local c="$1" s="$2" lua="$3" url="$4" out
  if [ "$lua" = - ]; then
    out=$(wrk -t2 -c"$c" -d"${s}s" "$url")
  else
    out=$(wrk -t"$([ "$c" -lt 2 ] && echo 1 || echo 2)" -c"$c" -d"${s}s" -s "scripts/wrk/$lua" "$url")
  fi
  local rate total non p99
  rate=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  total=$(echo "$out" | awk '/requests in/ { print $1 }')
  non=$(echo "$out" | awk '/Non-2xx/ { print $5 }')
  p99=$(echo "$out" | sed -n 's/.*p99=\([0-9.]*\)ms.*/\1/p')
  echo "${rate:-0} ${total:-0} ${non:-0} ${p99:-}"
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
written() { awk '/^write_bytes/ { print $2 }' "/proc/$1/io"; }

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)" >&2
if [ -z "$ONLY_P99" ]; then
  echo "== ceilings" >&2
  rec argon2_verifies_per_s "$("$TOOL" argon2 2 "$D")"
  rec sqlite_insert_commit_per_s "$("$TOOL" sqlite-insert "$WORK/ceiling.db" "$D")"
  if [[ " $BACKENDS " == *" postgres "* ]]; then
    rec pg_insert_commit_per_s "$("$TOOL" pg-insert "$(pg_db ceiling)" 16 "$D")"
  fi
fi

run_backend() {
  local b="$1" data="$WORK/$b"
  mkdir -p "$data"
  cat >"$data/roster.toml" <<EOF
# one load generator on one address: the per-address throttle would stop it after 60 logins
[throttle]
login = 0
EOF
  export ROSTER_CONFIG="$data/roster.toml" ROSTER_DATA_DIR="$data" ROSTER_LISTEN="127.0.0.1:$PORT" ROSTER_LOG=warn
  local dburl="sqlite:$data/roster.db"
  unset ROSTER_DATABASE_URL
  if [ "$b" = postgres ]; then dburl="$(pg_db "$b")"; export ROSTER_DATABASE_URL="$dburl"; fi
  echo "== $b" >&2
  local out token_url app
  out=$("$BIN" app create --name Load --seats 100000 --admin-email "$EMAIL" --admin-first-name Ada)
  token_url=$(echo "$out" | sed -n 's/^Accept link: //p')
  app=$(echo "$out" | sed -n 's/.*App ID \([a-z0-9]*\)$/\1/p')
  "$BIN" serve >"$data/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done
  curl -fs -X POST "$BASE/api/v1/invitations/${token_url##*/}/accept" -H 'content-type: application/json' \
    -d "{\"first_name\":\"Ada\",\"password\":\"$PASSWORD\",\"security_question\":\"first_car\",\"security_answer\":\"volvo\",\"accept_terms\":true}" >/dev/null
  export TOKEN EMAIL PASSWORD
  TOKEN=$(curl -fs -X POST "$BASE/api/v1/session" -H 'content-type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | sed 's/.*"token":"\([^"]*\)".*/\1/')
  local list="$BASE/api/v1/apps/$app/members?limit=50"
  local r

  # the single-client baseline: first page of a 1k-member app (statistics fresh, caches warm)
  "$TOOL" seed "$dburl" "$app" 0 999 >/dev/null
  if [ "$b" = postgres ]; then psql "$dburl" -qc "VACUUM (ANALYZE)" -c "CHECKPOINT" >/dev/null; fi
  wrk_run 1 2 auth.lua "$list" >/dev/null
  r=$(wrk_run 1 "$P99_SECS" auth.lua "$list"); rec "${b}_p99_1k_first_page_ms" "$(echo "$r" | cut -d' ' -f4)"

  if [ -z "$ONLY_P99" ]; then
    r=$(wrk_run 64 "$D" - "$BASE/healthz"); rec "${b}_healthz_per_s" "${r%% *}"

    local w0 w1
    w0=$(written "$SERVER")
    r=$(wrk_run 16 "$D" invite.lua "$BASE/api/v1/apps/$app/invitations")
    w1=$(written "$SERVER")
    rec "${b}_invitations_per_s" "${r%% *}"
    read -r _ total non _ <<<"$r"
    rec "${b}_invitations_refused" "$non"
    [ "$b" = sqlite ] && rec "${b}_bytes_per_invitation" "$(( (w1 - w0) / (total - non > 0 ? total - non : 1) ))"

    r=$(wrk_run 64 "$D" auth.lua "$list"); rec "${b}_member_list_per_s" "${r%% *}"

    r=$(wrk_run 4 "$D" login.lua "$BASE/api/v1/session"); rec "${b}_logins_4_per_s" "${r%% *}"
    rec "${b}_logins_4_refused" "$(echo "$r" | cut -d' ' -f3)"
    local peak=0 sampler
    (while kill -0 "$SERVER" 2>/dev/null; do rss_kb "$SERVER"; sleep 0.5; done) >"$data/rss" 2>/dev/null &
    sampler=$!
    r=$(wrk_run 16 "$LOGIN_SECS" login.lua "$BASE/api/v1/session")
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    peak=$(sort -n "$data/rss" | tail -n1)
    rec "${b}_logins_16_per_s" "${r%% *}"
    rec "${b}_logins_16_refused" "$(echo "$r" | cut -d' ' -f3)"
    rec "${b}_rss_logins_16_peak_mb" "$(( peak / 1024 ))"
    sleep "$IDLE_SECS"
    rec "${b}_rss_idle_after_mb" "$(( $(rss_kb "$SERVER") / 1024 ))"
  fi

  # the same app at ~100k members: each shape's p99 against the 1k first page
  "$TOOL" seed "$dburl" "$app" 1000 "$((BIG - 1))" >/dev/null
  if [ "$b" = postgres ]; then psql "$dburl" -qc "VACUUM (ANALYZE)" -c "CHECKPOINT" >/dev/null; fi
  local deep
  deep=$(printf 'm%05d@example.com' $((BIG - 1000)) | od -An -tx1 | tr -d ' \n')
  local shape
  wrk_run 1 2 auth.lua "$list" >/dev/null
  for shape in "first_page|" "deep_cursor|&cursor=$deep" "inactive|&filter=inactive" "partners|&filter=partners" \
    "q_quixote|&q=quixote" "q_grace|&q=grace" "q_zq|&q=zq" "q_gr|&q=gr" "q_surname42|&q=surname42"; do
    r=$(wrk_run 1 "$P99_SECS" auth.lua "$list${shape#*|}")
    rec "${b}_p99_100k_${shape%%|*}_ms" "$(echo "$r" | cut -d' ' -f4)"
  done

  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

for b in $BACKENDS; do run_backend "$b"; done
if [ "$BULK_ROWS" -gt 0 ]; then
  echo "== bulk invitation of $BULK_ROWS rows (SQLite)" >&2
  rec sqlite_bulk_secs "$("$TOOL" bulk "$BULK_ROWS")"
fi

# ---- the table ----
{
  echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), ${D}s per figure, logins at 16 for ${LOGIN_SECS}s"
  echo
  echo "| figure | value | ceiling (same run) | ratio | target |"
  echo "|---|---|---|---|---|"
  [ -z "$ONLY_P99" ] && echo "| raw Argon2id verifies/s, 2 threads | $(get argon2_verifies_per_s) | — | — | (ceiling) |"
  for b in $BACKENDS; do
    if [ -n "$ONLY_P99" ]; then echo "| **$b** | | | | |"; else
    echo "| **$b** /healthz req/s, 64 connections | $(get "${b}_healthz_per_s") | — | — | (ceiling) |"
    echo "| $b logins/s, 4 connections | $(get "${b}_logins_4_per_s") ($(get "${b}_logins_4_refused") refused) | $(get argon2_verifies_per_s) | $(ratio "${b}_logins_4_per_s" argon2_verifies_per_s) | ≥ 0.97, 0 refused |"
    echo "| $b logins/s, 16 connections | $(get "${b}_logins_16_per_s") ($(get "${b}_logins_16_refused") refused) | $(get argon2_verifies_per_s) | $(ratio "${b}_logins_16_per_s" argon2_verifies_per_s) | ≥ 0.97, 0 refused |"
    echo "| $b RSS, peak during logins at 16 / idle ${IDLE_SECS}s after | $(get "${b}_rss_logins_16_peak_mb") MB / $(get "${b}_rss_idle_after_mb") MB | — | — | ≤ 150 MB / ≤ 60 MB |"
    echo "| $b member list, page of 50, 64 connections | $(get "${b}_member_list_per_s")/s | sqlite /healthz $(get sqlite_healthz_per_s)/s | $(ratio "${b}_member_list_per_s" sqlite_healthz_per_s) | $([ "$b" = sqlite ] && echo '≥ 0.40' || echo '≥ 0.15') |"
    if [ "$b" = sqlite ]; then
      echo "| sqlite invitations/s, 16 connections | $(get sqlite_invitations_per_s)/s ($(get sqlite_invitations_refused) refused) | insert+commit $(get sqlite_insert_commit_per_s)/s | $(ratio sqlite_invitations_per_s sqlite_insert_commit_per_s) | ≥ 1 |"
      echo "| sqlite bytes written per invitation | $(get sqlite_bytes_per_invitation) | — | — | ≤ 10,240 |"
    else
      echo "| postgres invitations/s, 16 connections | $(get postgres_invitations_per_s)/s ($(get postgres_invitations_refused) refused) | insert+commit $(get pg_insert_commit_per_s)/s | $(ratio postgres_invitations_per_s pg_insert_commit_per_s) | ≥ 0.7 |"
    fi
    fi
    echo "| $b p99, first page of a 1k-member app (single client) | $(get "${b}_p99_1k_first_page_ms") ms | — | — | (ceiling) |"
    for k in first_page deep_cursor inactive partners q_quixote q_grace q_zq q_gr q_surname42; do
      echo "| $b p99 at ${BIG} members: $k | $(get "${b}_p99_100k_${k}_ms") ms | $(get "${b}_p99_1k_first_page_ms") ms | $(ratio "${b}_p99_100k_${k}_ms" "${b}_p99_1k_first_page_ms") | ≤ 2 |"
    done
  done
  if [ "$BULK_ROWS" -gt 0 ]; then
    echo "| sqlite bulk invitation of $BULK_ROWS rows | $(get sqlite_bulk_secs) s | — | — | < 30 s |"
  fi
} | tee "${OUT:-/dev/null}"
