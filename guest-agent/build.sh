#!/bin/sh
# Builds the guest agent as one fully static binary (it runs inside busybox-only images and as a
# VM's init) and prints its path. The explicit --target keeps RUSTFLAGS away from build scripts.
set -eu
cd "$(dirname "$0")"
TARGET=x86_64-unknown-linux-gnu
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$TARGET" ${CARGO_FLAGS:-} >&2
echo "$(pwd)/target/$TARGET/release/faas-guest-agent"
