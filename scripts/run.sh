#!/usr/bin/env bash
# Sets up this host (as root, idempotent) and runs the platform: the HTTP gateway with the default
# executor, on FAAS_GATEWAY_PORT (default 8080). Once it is ready, one invocation is sent and its
# result shown; the gateway keeps running in the foreground until Ctrl-C (which drains in-flight work).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh

# The port as faas itself reads it (.env and the environment); a bad configuration stops here, with
# the one-line message `faas config` prints.
config=$(node bin/faas.mjs config)
setting() { printf '%s' "$config" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const v=process.argv[1].split(".").reduce((o,k)=>o[k],JSON.parse(s));console.log(v??"")}catch{process.exit(1)}})' "$1"; }
port=$(setting gateway.port)
auth_mode=$(setting auth.mode)
data_dir=$(setting dataDir)
# `faas serve`, as the set-up put it on the PATH; run through this checkout's own copy so that another
# checkout's link cannot be picked up. It runs in a session of its own, so that Ctrl-C reaches only this
# script, whose trap sends it one SIGTERM (a second signal would make it exit without draining).
setsid node bin/faas.mjs serve &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then break; fi
  kill -0 $server 2>/dev/null || { echo "faas serve exited; see the log above" >&2; exit 1; }
  sleep 0.2
done

# The admin key: FAAS_ADMIN_KEY when set, else the one the platform created at its first start.
key=${FAAS_ADMIN_KEY:-}
key_source=FAAS_ADMIN_KEY
if [ "$auth_mode" = keys ] && [ -z "$key" ]; then
  if [ -r "$data_dir/admin.key" ]; then
    key=$(cat "$data_dir/admin.key")
    key_source="$data_dir/admin.key"
  else
    echo "FAAS_ADMIN_KEY is set in .env: use it as the bearer key" >&2
  fi
fi
auth=()
if [ -n "$key" ]; then
  auth=(-H "authorization: Bearer $key")
  printf '\n\033[1madmin API key\033[0m (from %s): %s\n' "$key_source" "$key"
  printf 'send it as: -H "authorization: Bearer <key>"; create narrower keys with POST /keys (docs/auth.md)\n'
fi

request='{"image":"faas/busybox:latest","command":["sh","-c","echo \"stdin: $(cat)\"; echo \"GREETING=$GREETING\""],"env_vars":["GREETING=hello"],"payload_base64":"SGVsbG8gd29ybGQh"}'
printf "\n\033[1mfirst invocation:\033[0m curl -X POST http://127.0.0.1:%s/functions/hello/invoke -H 'authorization: Bearer <key>' -H 'content-type: application/json' -d '%s'\n" "$port" "$request"
response=$(curl -sS -X POST "http://127.0.0.1:$port/functions/hello/invoke" "${auth[@]}" -H 'content-type: application/json' -d "$request")
printf '%s\n' "$response"
printf '\033[1mdecoded stdout:\033[0m\n'
printf '%s' "$response" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(Buffer.from(JSON.parse(s).response_base64??"","base64")))'
printf '\n\033[1mfaas is serving on http://127.0.0.1:%s (Ctrl-C stops it)\033[0m\n' "$port"
wait $server
