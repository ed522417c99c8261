#!/usr/bin/env bash
# Sets up this host (as root, idempotent: Docker engine, gVisor, QEMU, images, guest agent, guest
# kernel) and runs every test: type-check and build, lint and format check, unit tests, and the
# suites against the real Docker engine, gVisor and QEMU microVMs.
set -euo pipefail
cd "$(dirname "$0")/.."
FAAS_SETUP_VM=1 bash scripts/setup-host.sh
# The set-up above provides these executors: their conformance columns must run, never skip.
export TESTER_REQUIRE_EXECUTORS=docker,oci,gvisor,qemu
npm test
bash scripts/fuzz-api.sh
