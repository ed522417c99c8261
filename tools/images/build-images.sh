#!/usr/bin/env bash
# Builds the runtime images the README and the tests use, without a container registry:
#   faas/busybox:latest  static busybox only (about 2 MB)
#   faas/python:latest   Debian's python3-minimal
#   faas/node:latest     Debian's nodejs
# The Debian-based images come from this machine's own apt sources through mmdebstrap.
# Images that already exist are skipped; FAAS_REBUILD_IMAGES=1 rebuilds them.
#   usage: build-images.sh [busybox|python|node ...]   (default: all)
set -euo pipefail

log() { printf '\033[1m[images]\033[0m %s\n' "$*"; }
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
work=$(mktemp -d /tmp/faas-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

exists() { [ "${FAAS_REBUILD_IMAGES:-0}" != "1" ] && docker image inspect "$1" >/dev/null 2>&1; }

import() { # tarball image runtime
  docker import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL dev.faas.runtime=$3" \
    "$1" "$2" >/dev/null
  log "$2 ready ($(docker image inspect -f '{{.Size}}' "$2" | awk '{printf "%.1f MB", $1/1e6}'))"
}

build_busybox() {
  local image=faas/busybox:latest
  if exists "$image"; then log "$image exists, skipping"; return; fi
  [ -x /bin/busybox ] || { echo "missing /bin/busybox: apt-get install busybox-static" >&2; exit 1; }
  log "building $image from the busybox-static package"
  local root="$work/busybox"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,tmp,etc,proc,sys,dev,root,home}
  cp /bin/busybox "$root/bin/busybox"
  # One symlink per applet, as `busybox --install -s` would make inside the image.
  for applet in $(/bin/busybox --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  tar -C "$root" -cf "$work/busybox.tar" .
  import "$work/busybox.tar" "$image" busybox
}

build_debian() { # name packages...
  local name=$1; shift
  local image="faas/$name:latest"
  if exists "$image"; then log "$image exists, skipping"; return; fi
  command -v mmdebstrap >/dev/null || { echo "missing mmdebstrap: apt-get install mmdebstrap" >&2; exit 1; }
  local include
  include=$(IFS=,; echo "$*")
  log "building $image from Debian $suite packages ($include); this takes about a minute"
  mmdebstrap --quiet --variant=essential --include="$include" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
    "$suite" "$work/$name.tar"
  import "$work/$name.tar" "$image" "$name"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(busybox python node)
for target in "${targets[@]}"; do
  case "$target" in
    busybox) build_busybox ;;
    python) build_debian python python3-minimal ;;
    node) build_debian node nodejs ;;
    *) echo "unknown image '$target': use busybox, python or node" >&2; exit 2 ;;
  esac
done
