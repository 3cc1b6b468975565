#!/usr/bin/env bash
# Schemathesis (PyPI) against the served OpenAPI document, logged in as an app's admin: every
# answer must be documented (status code, content type, schema) and none may be a 5xx.
# Exits non-zero on any finding.
#
# Usage: scripts/schemathesis.sh [max examples per operation, default 50]
# Environment: CARGO_TARGET_DIR (as for cargo), SCHEMATHESIS_SEED (default 1, for repeatable
# runs), SCHEMATHESIS_WORKERS (default 2).
#
# What it does: builds the `roster` binary, creates an app with `roster app create` on a fresh
# SQLite folder, serves it on a free loopback port, accepts the admin's invitation and logs in
# through the API, then runs `schemathesis run` with the admin's session token and the app's
# App ID as every `app_id` (so the app's routes are exercised, not just their 404s).
#
# Excluded operations (each would end the session the run uses, leaving the rest of it
# testing nothing but 401s):
# - `DELETE /api/v1/session` (logout): ends the session of the bearer token.
# - `DELETE /api/v1/me/sessions/{id}`: with an id taken from `GET /api/v1/me/sessions` (the
#   stateful phase links them) it ends the current session. Its 204/404/401 answers are
#   covered by the journeys tests (an_id_sees_its_sessions_and_ends_them).
# Nothing else needs excluding: changing the password, the login email or two-step settings
# needs the admin's password, which the run does not know (its examples use another), and
# wrong guesses at most lock the ID against new logins (429 `id_locked`, documented), which
# leaves the session working.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES="${1:-50}"
SEED="${SCHEMATHESIS_SEED:-1}"
WORKERS="${SCHEMATHESIS_WORKERS:-2}"

if ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check schemathesis
fi
schemathesis --version

cargo build -q --locked -p roster
BIN="$(pwd)/${CARGO_TARGET_DIR:-target}/debug/roster"
case "${CARGO_TARGET_DIR:-}" in /*) BIN="$CARGO_TARGET_DIR/debug/roster" ;; esac

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A folder of its own: no ./roster.toml is read, nothing is left behind.
cd "$WORK"
unset ROSTER_CONFIG ROSTER_DATABASE_URL
export ROSTER_DATA_DIR="$WORK/data" ROSTER_LISTEN="127.0.0.1:$PORT" ROSTER_LOG=warn
EMAIL='admin@schemathesis.test'
# Known to no example of the document, so the run cannot change it by chance.
PASSWORD="Run-$(python3 -c 'import secrets; print(secrets.token_hex(8))')-9Z"

out="$("$BIN" app create --name Schemathesis --seats 1000 --admin-email "$EMAIL" --admin-first-name Ada)"
APP="$(echo "$out" | sed -n 's/.*App ID \([a-z0-9]*\)$/\1/p')"
INVITE="$(echo "$out" | sed -n 's/^Accept link: .*\/invite\///p')"
[ -n "$APP" ] && [ -n "$INVITE" ] || { echo "could not create the app: $out" >&2; exit 1; }

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$BASE/healthz" >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

curl -fs -X POST "$BASE/api/v1/invitations/$INVITE/accept" -H 'content-type: application/json' \
  -d "{\"first_name\":\"Ada\",\"password\":\"$PASSWORD\",\"security_question\":\"first_car\",\"security_answer\":\"volvo\",\"accept_terms\":true}" >/dev/null
TOKEN="$(curl -fs -X POST "$BASE/api/v1/session" -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
[ -n "$TOKEN" ] || { echo "could not log in" >&2; exit 1; }
echo "== app $APP on $BASE, admin $EMAIL logged in"

cat >"$WORK/schemathesis.toml" <<EOF
[parameters]
"path.app_id" = "$APP"
EOF

run_schemathesis() {
  schemathesis --config-file "$WORK/schemathesis.toml" run "$BASE/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --header "Authorization: Bearer $TOKEN" \
    --generation-with-security-parameters false \
    --exclude-operation-id logout \
    --exclude-operation-id end_session \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers "$WORKERS" \
    --request-timeout 30 \
    ${SCHEMATHESIS_EXTRA:-} --no-color 2>&1 | tee "$WORK/schemathesis.out"
  return "${PIPESTATUS[0]}"
}

status=0
set +e
run_schemathesis
status=$?
# A crash inside schemathesis or hypothesis themselves ("Runtime Error", e.g. CPython's
# "AST constructor recursion depth mismatch" while hypothesis reads its own source) is not a
# finding about Roster: the run is made once more. Findings ("unique failures") never are.
if [ "$status" -ne 0 ] && ! grep -q "unique failures" "$WORK/schemathesis.out" \
  && grep -q "Runtime Error" "$WORK/schemathesis.out"; then
  echo "schemathesis crashed inside itself (not a finding about Roster); running it once more" >&2
  run_schemathesis
  status=$?
fi
set -e

# The run must not have ended its own session: a run that did tested little after that.
if ! curl -fs "$BASE/api/v1/me" -H "Authorization: Bearer $TOKEN" >/dev/null; then
  echo "schemathesis ended the admin's session during the run" >&2
  status=1
fi
if grep -q "panicked" "$WORK/server.log"; then
  grep -B2 -A5 "panicked" "$WORK/server.log" >&2
  status=1
fi
# One closing line: generated test cases that passed, and unique failures.
passed="$(sed -n 's/.* generated, \([0-9]*\) passed.*/\1/p' "$WORK/schemathesis.out" | tail -n1)"
failed="$(sed -n 's/.* found \([0-9]*\) unique failures.*/\1/p' "$WORK/schemathesis.out" | tail -n1)"
failed="${failed:-0}"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "schemathesis: ${passed:-0} passed, $failed failed"
exit "$status"
