#!/usr/bin/env bash
# Builds the faas guest kernel: an uncompressed ELF vmlinux with a PVH entry point that both
# QEMU (-M microvm) and Firecracker boot directly. It starts from `make tinyconfig` and adds only
# the config fragments (kernel.config), so a clean build stays within minutes on a small CI machine.
#
# The result is cached OUTSIDE the clone, keyed by everything that decides it, so a fresh clone on
# the same host (CI) finds it instead of rebuilding:
#   <cache>/<key>/vmlinux   the kernel          <cache>/<key>/config   its full .config
#   <cache>/<key>/inputs    what the key covers (fragment hashes, source package version, script hash)
# key = first 16 hex digits of sha256(inputs): the content of every config fragment, the version of
# the Debian linux-source package and the content of this script. <repo>/.cache/kernel/vmlinux is
# a symlink to the cached file (what the executors and tests open by default).
#
# Usage: tools/firecracker-rootfs-builder/build-kernel.sh [--force] [--print-path] [--print-key]
#   --force       rebuild even when the cached kernel exists
#   --print-path  print only the path of the (cached or built) vmlinux on stdout
#   --print-key   print only the cache key and exit (no build; for CI cache keys)
# Environment: BUILD_KERNEL_CACHE_DIR (default /var/cache/faas/kernel when writable, else
#   ${XDG_CACHE_HOME:-~/.cache}/faas/kernel), BUILD_KERNEL_JOBS (default nproc),
#   BUILD_KERNEL_KEEP_SOURCE=1 keeps the unpacked source tree for faster rebuilds.
# A kernel built into <repo>/.cache/kernel/vmlinux-<key> by the earlier recipe (key over the fragment,
# the source version and "recipe 1") is adopted into the cache once instead of being rebuilt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
repo="$(cd "$here/../.." && pwd)"
jobs="${BUILD_KERNEL_JOBS:-$(nproc)}"
fragments=("$here/kernel.config")
package="linux-source-6.1"
tarball="/usr/src/$package.tar.xz"
link_dir="$repo/.cache/kernel"
force=0
print_path=0
print_key=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --print-path) print_path=1 ;;
    --print-key) print_key=1 ;;
    -h|--help) sed -n '2,24p' "$0" | cut -c3-; exit 0 ;;
    *) echo "build-kernel: unknown option $arg (use --force, --print-path or --print-key)" >&2; exit 2 ;;
  esac
done

# Progress goes to stderr so that --print-path and --print-key leave stdout to their answer.
say() { echo "build-kernel: $*" >&2; }

default_cache() {
  if mkdir -p /var/cache/faas/kernel 2>/dev/null && [[ -w /var/cache/faas/kernel ]]; then
    echo /var/cache/faas/kernel
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/faas/kernel"
  fi
}

source_version() {
  dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true
}

if [[ ! -f "$tarball" && $print_key -eq 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    say "$tarball is missing: run 'sudo apt-get install -y $package flex bison bc libelf-dev' first"
    exit 1
  fi
  say "installing $package and the build tools (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "$package" build-essential flex bison bc libelf-dev xz-utils >&2
fi

version="$(source_version)"
if [[ -z "$version" ]]; then
  if [[ -f "$tarball" ]]; then
    # Not installed through dpkg: the tarball's own hash stands in for the package version.
    version="tarball-$(sha256sum "$tarball" | cut -c1-16)"
  else
    say "$package is not installed: its version is part of the key"
    exit 1
  fi
fi

# What decides the kernel, one line each; the key is its hash. Any change rebuilds.
inputs="$(
  for f in "${fragments[@]}"; do echo "fragment $(basename "$f") $(sha256sum "$f" | cut -d' ' -f1)"; done
  echo "source $package $version"
  echo "script $(basename "$script") $(sha256sum "$script" | cut -d' ' -f1)"
)"
key="$(printf '%s\n' "$inputs" | sha256sum | cut -c1-16)"
if [[ $print_key -eq 1 ]]; then
  echo "$key"
  exit 0
fi

cache="${BUILD_KERNEL_CACHE_DIR:-$(default_cache)}"
entry="$cache/$key"
out="$entry/vmlinux"
mkdir -p "$cache" "$link_dir"

# The repository's .cache/kernel/vmlinux points at the cached kernel (absolute: the cache is elsewhere).
publish() {
  ln -sfn "$out" "$link_dir/vmlinux.tmp"
  mv -T "$link_dir/vmlinux.tmp" "$link_dir/vmlinux"
  say "$link_dir/vmlinux -> $out"
  if [[ $print_path -eq 1 ]]; then echo "$out"; fi
  exit 0
}

# Every option the fragments request must be in a full .config as requested: a dropped option
# (unmet dependency) would surface only as a guest that cannot boot.
check_config() {
  local config="$1" fragment line name want missing=0
  for fragment in "${fragments[@]}"; do
    while IFS= read -r line; do
      [[ "$line" =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]] || continue
      name="${BASH_REMATCH[1]}"; want="${BASH_REMATCH[2]}"
      if [[ "$want" == "n" ]]; then
        if grep -q "^$name=" "$config"; then say "option $name is still set"; missing=1; fi
      elif ! grep -qx "$name=$want" "$config"; then
        say "option $name=$want did not survive olddefconfig (unmet dependency?)"; missing=1
      fi
    done <"$fragment"
  done
  return $missing
}

# Stores a finished kernel (and its .config) under the key, atomically.
store() {
  local vmlinux="$1" config="$2"
  rm -rf "$entry.tmp" && mkdir -p "$entry.tmp"
  cp "$vmlinux" "$entry.tmp/vmlinux"
  cp "$config" "$entry.tmp/config"
  printf '%s\n' "$inputs" >"$entry.tmp/inputs"
  rm -rf "$entry"
  mv "$entry.tmp" "$entry"
}

# One build per key at a time, across processes (a second caller waits, then finds the result).
exec 9>"$cache/.lock-$key"
if ! flock -n 9; then
  say "another build of kernel $key is running; waiting for it"
  flock 9
fi

if [[ -f "$out" && $force -eq 0 ]]; then
  say "cached kernel $out"
  publish
fi

# Adopt a kernel the earlier recipe built into the clone (.cache/kernel/vmlinux-<legacy key>): same
# fragment, same source, same build commands, so it is this kernel; checked before it is trusted.
legacy_key="$( { cat "${fragments[0]}"; echo "$package $version recipe 1"; } | sha256sum | cut -c1-16)"
legacy="$link_dir/vmlinux-$legacy_key"
if [[ $force -eq 0 && ${#fragments[@]} -eq 1 && -f "$legacy" && -f "$legacy.config" ]]; then
  if [[ "$(head -c 4 "$legacy" | od -An -tx1 | tr -d ' \n')" == 7f454c46 ]] && check_config "$legacy.config"; then
    say "adopting $legacy (built by the earlier recipe) as kernel $key"
    store "$legacy" "$legacy.config"
    rm -f "$legacy" "$legacy.config"
    publish
  fi
  say "ignoring $legacy: not an ELF kernel with the requested options"
fi

start=$(date +%s)
src="$cache/src-$version"
if [[ ! -f "$src/Makefile" ]]; then
  say "unpacking $tarball (about a minute)"
  rm -rf "$src.tmp" && mkdir -p "$src.tmp"
  tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
  mv "$src.tmp" "$src"
fi

build="$cache/build-$key"
rm -rf "$build" && mkdir -p "$build"
say "configuring: tinyconfig + $(for f in "${fragments[@]}"; do basename "$f"; done | tr '\n' ' ')"
make -s -C "$src" O="$build" ARCH=x86_64 tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "${fragments[@]}" >/dev/null
make -s -C "$src" O="$build" ARCH=x86_64 olddefconfig >&2
check_config "$build/.config" || exit 1

say "compiling vmlinux with $jobs jobs (cache entry $entry)"
# Print a progress line every 100 objects instead of thousands of object lines.
progress() {
  local line count=0
  while IFS= read -r line; do
    case "$line" in
      *"  CC "*)
        count=$((count + 1))
        if ((count % 100 == 0)); then echo "build-kernel:   $count objects compiled (${line##* })" >&2; fi ;;
      *"  LD "*vmlinux*) echo "build-kernel:   linking ${line##* }" >&2 ;;
      *error*|*Error*|*warning:*) echo "$line" >&2 ;;
    esac
  done
}
if ! make -C "$src" O="$build" ARCH=x86_64 -j"$jobs" vmlinux 2>&1 | progress; then
  say "make failed; the build tree is kept at $build"
  exit 1
fi

store "$build/vmlinux" "$build/.config"
rm -rf "$build"
# The unpacked source is over a gigabyte and unpacking it again takes seconds: keep it only on request.
[[ "${BUILD_KERNEL_KEEP_SOURCE:-0}" == 1 ]] || rm -rf "$src"
say "built $out ($(du -h "$out" | cut -f1)) in $(( $(date +%s) - start ))s"
publish
