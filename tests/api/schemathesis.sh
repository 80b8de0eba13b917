#!/usr/bin/env bash
# Property-based tests of the JSON API with schemathesis, against its own OpenAPI document:
# an Insats on a throwaway managed database, a coordinator's API token, a bounded number of
# examples per operation. Fails on any server error or any answer that does not match the
# document.
#
#   bash tests/api/schemathesis.sh [path/to/insats]     (default target/debug/insats)
#
# Needs schemathesis (pip install 'schemathesis>=4,<5') and PostgreSQL's server programs.
set -euo pipefail

insats=${1:-target/debug/insats}
examples=${SCHEMATHESIS_EXAMPLES:-15}
work=$(mktemp -d /tmp/insats-schemathesis.XXXXXX)
chmod 755 "$work"   # the managed cluster runs as postgres when this runs as root
export INSATS_DATA_DIR="$work/data" RUST_LOG=warn
unset DATABASE_URL

server=""
cleanup() {
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$insats" migrate
printf 'ett långt lösenord för schemathesis\n' |
  "$insats" user add --email schemathesis@insats.local --name Schemathesis --role samordnare >/dev/null
token=$("$insats" token create schemathesis@insats.local | tail -n 1 | awk '{print $NF}')

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$insats" serve --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

schemathesis run "http://127.0.0.1:$port/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --max-examples "$examples" \
  --phases examples,coverage,fuzzing \
  --workers 2 \
  --seed 2018 \
  --generation-deterministic \
  --request-timeout 30 \
  --wait-for-schema 30
