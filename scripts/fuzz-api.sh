#!/usr/bin/env bash
# Fuzzes the HTTP API against its own OpenAPI document (gateway/openapi.json) with schemathesis:
# starts a real gateway (`faas serve`, Docker executor, API keys on, a fresh FAAS_DATA_DIR and a
# random admin key) on a free loopback port, registers one function (`echo`, the document's example
# of a registered id), runs every check (server errors, status codes, content types, headers and
# bodies against the document, undeclared methods, accepted and rejected data, ignored auth, the
# stateful links of functions and keys) with the admin key as bearer, and fails on any finding.
# Bounded: at most FUZZ_API_MAX_EXAMPLES (100) cases per operation and phase, FUZZ_API_TIME_LIMIT_S
# (170) seconds in all.
#
# schemathesis (pinned) is installed into a virtualenv under .cache/ when missing. Needs the Docker
# engine and the runtime images (scripts/setup-host.sh) and a build (npx tsc -b).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=.cache/schemathesis
MAX_EXAMPLES=${FUZZ_API_MAX_EXAMPLES:-100}
TIME_LIMIT_S=${FUZZ_API_TIME_LIMIT_S:-170}

log() { printf 'fuzz-api: %s\n' "$*" >&2; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  # Debian's python3 makes virtualenvs only with python3-venv installed.
  if ! python3 -c 'import ensurepip' 2>/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
  fi
  python3 -m venv --clear "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

[ -f bin/dist/main.js ] || { log "building"; npx tsc -b; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
gateway_log=$(mktemp)
# This run's own state: a fresh data folder (store, generated keys) and random keys, shared with the
# hooks (which read the gateway's state to tell a documented refusal from a finding) and with
# scripts/fuzz-api.toml (the bearer of every protected operation). Never printed.
data_dir=$(mktemp -d)
export FUZZ_API_BASE="$base"
export FUZZ_API_ADMIN_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
secrets_key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export FUZZ_API_DEFAULT_TIMEOUT_MS=30000
# The host's cores: the gateway's FAAS_MAX_CPUS, and the one bound the document cannot state.
export FUZZ_API_HOST_CPUS=$(nproc)
# Only this run's settings: FAAS_* and RUST_LOG of the caller's shell are dropped. The maxima of
# timeout_ms, memory_mb and pids are the highest the configuration allows, the bounds the document
# states; with lower ones a request the document allows is a 400 (documented, not what this run checks).
env -u RUST_LOG $(env | grep -o '^FAAS_[A-Z0-9_]*' | sed 's/^/-u /') \
  FAAS_GATEWAY_HOST=127.0.0.1 FAAS_GATEWAY_PORT="$port" FAAS_EXECUTOR_TYPE=docker FAAS_LOG_LEVEL=warn \
  FAAS_MAX_TIMEOUT_MS=3600000 FAAS_MAX_MEMORY_MB=1048576 FAAS_MAX_PIDS=1000000 FAAS_MAX_CPUS="$FUZZ_API_HOST_CPUS" \
  FAAS_DEFAULT_TIMEOUT_MS="$FUZZ_API_DEFAULT_TIMEOUT_MS" FAAS_AUTH=keys FAAS_ALLOW_ADHOC=on \
  FAAS_DATA_DIR="$data_dir" FAAS_ADMIN_KEY="$FUZZ_API_ADMIN_KEY" FAAS_SECRETS_KEY="$secrets_key" \
  node bin/dist/main.js serve >"$gateway_log" 2>&1 &
gateway=$!
# SIGTERM drains the gateway, which removes every sandbox it made; it gets 30 s to do so.
stop_gateway() {
  if kill -TERM "$gateway" 2>/dev/null; then
    for _ in $(seq 1 60); do
      kill -0 "$gateway" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$gateway" 2>/dev/null || true
  fi
  wait "$gateway" 2>/dev/null || true
  rm -f "$gateway_log"
  rm -rf "$data_dir"
}
trap stop_gateway EXIT

for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$base/ready" 2>/dev/null && break
  if ! kill -0 "$gateway" 2>/dev/null; then
    log "the gateway exited before it was ready:"
    cat "$gateway_log" >&2
    exit 1
  fi
  sleep 0.5
done
curl -fsS -o /dev/null "$base/ready" || { log "the gateway is not ready after 60 s:"; cat "$gateway_log" >&2; exit 1; }
# The document's example of a registered id: invocations of it exercise the registered path (the
# fuzz may change or delete it later; the hooks read what is registered when they judge an answer).
registered=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$base/functions" \
  -H "authorization: Bearer $FUZZ_API_ADMIN_KEY" -H 'content-type: application/json' \
  -d '{"id": "echo", "image": "faas/busybox:latest", "command": ["cat"], "description": "registered by scripts/fuzz-api.sh"}')
[ "$registered" = 201 ] || { log "registering the example function answered $registered, not 201:"; cat "$gateway_log" >&2; exit 1; }
log "gateway ready at $base; fuzzing (at most $MAX_EXAMPLES cases per operation, ${TIME_LIMIT_S}s)"

# schemathesis keeps its state (replayable failures: `st replay <id>`) in the working folder: .cache/fuzz-api.
# Every check runs by default (the built-in ones and the hooks'); fuzz-api.toml turns one off for
# one operation, which `--checks all` would override.
root=$(pwd)
mkdir -p .cache/fuzz-api
status=0
(
  cd .cache/fuzz-api
  SCHEMATHESIS_HOOKS="$root/scripts/fuzz-api-hooks.py" timeout --kill-after=10 "$TIME_LIMIT_S" \
    "$root/$VENV/bin/schemathesis" --no-color --config-file "$root/scripts/fuzz-api.toml" run "$base/openapi.json" \
    --max-examples "$MAX_EXAMPLES" --request-timeout 30 --workers 2 --continue-on-failure
) || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then log "schemathesis ran past ${TIME_LIMIT_S}s"; fi
if [ "$status" -ne 0 ] && grep -q '"component":"gateway"' "$gateway_log"; then
  log "gateway log (warnings and errors, last 30):"
  grep '"component":"gateway"' "$gateway_log" | tail -n 30 >&2
fi
exit "$status"
