#!/usr/bin/env bash
# Builds the faas guest kernel: an uncompressed ELF vmlinux with a PVH entry point that both
# QEMU (-M microvm) and Firecracker boot directly. It starts from `make tinyconfig` and adds only
# kernel.config, so a clean build stays within minutes on a small CI machine. The result is cached
# under .cache/kernel/vmlinux-<key>, where the key covers the config fragment, the kernel source
# version and the recipe version, and .cache/kernel/vmlinux points at the newest build.
#
# Usage: tools/firecracker-rootfs-builder/build-kernel.sh [--force] [--print-path]
#   --force       rebuild even when the cached kernel exists
#   --print-path  print only the path of the (cached or built) vmlinux on stdout
# Environment: BUILD_KERNEL_CACHE_DIR (default <repo>/.cache/kernel), BUILD_KERNEL_JOBS (default nproc),
#   BUILD_KERNEL_KEEP_SOURCE=1 keeps the unpacked source tree for faster rebuilds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${BUILD_KERNEL_CACHE_DIR:-$repo/.cache/kernel}"
jobs="${BUILD_KERNEL_JOBS:-$(nproc)}"
fragment="$here/kernel.config"
package="linux-source-6.1"
tarball="/usr/src/$package.tar.xz"
force=0
print_path=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --print-path) print_path=1 ;;
    -h|--help) sed -n '2,12p' "$0" | cut -c3-; exit 0 ;;
    *) echo "build-kernel: unknown option $arg (use --force or --print-path)" >&2; exit 2 ;;
  esac
done

# Progress goes to stderr so that --print-path leaves stdout to the path alone.
say() { echo "build-kernel: $*" >&2; }

if [[ ! -f "$tarball" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    say "$tarball is missing: run 'sudo apt-get install -y $package flex bison bc libelf-dev' first"
    exit 1
  fi
  say "installing $package and the build tools (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "$package" build-essential flex bison bc libelf-dev xz-utils >&2
fi
for tool in make gcc flex bison bc; do
  command -v "$tool" >/dev/null || { say "missing $tool: apt-get install -y build-essential flex bison bc"; exit 1; }
done

version="$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || stat -c %s "$tarball")"
# The key covers what changes the kernel: the fragment, the source version and the recipe version
# below (bump it when a change to this script changes the result; cosmetic edits need no rebuild).
recipe=1
key="$( { cat "$fragment"; echo "$package $version recipe $recipe"; } | sha256sum | cut -c1-16)"
out="$cache/vmlinux-$key"
mkdir -p "$cache"

if [[ -f "$out" && $force -eq 0 ]]; then
  say "cached kernel $out"
  ln -sfn "$(basename "$out")" "$cache/vmlinux"
  [[ $print_path -eq 1 ]] && echo "$out"
  exit 0
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
say "configuring: tinyconfig + $(basename "$fragment")"
make -s -C "$src" O="$build" ARCH=x86_64 tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment" >/dev/null
make -s -C "$src" O="$build" ARCH=x86_64 olddefconfig >&2

# A requested option that Kconfig silently dropped (unmet dependency) would surface only as a
# guest that cannot boot; fail here instead, naming the option.
missing=0
while IFS= read -r line; do
  [[ "$line" =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]] || continue
  name="${BASH_REMATCH[1]}"; want="${BASH_REMATCH[2]}"
  if [[ "$want" == "n" ]]; then
    grep -q "^$name=" "$build/.config" && { say "option $name is still set"; missing=1; }
  elif ! grep -qx "$name=$want" "$build/.config"; then
    say "option $name=$want did not survive olddefconfig (unmet dependency?)"; missing=1
  fi
done <"$fragment"
[[ $missing -eq 0 ]] || exit 1

say "compiling vmlinux with $jobs jobs"
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

cp "$build/vmlinux" "$out.tmp"
cp "$build/.config" "$out.config"
mv "$out.tmp" "$out"
ln -sfn "$(basename "$out")" "$cache/vmlinux"
rm -rf "$build"
# The unpacked source is over a gigabyte and unpacking it again takes seconds: keep it only on request.
[[ "${BUILD_KERNEL_KEEP_SOURCE:-0}" == 1 ]] || rm -rf "$src"
say "built $out ($(du -h "$out" | cut -f1)) in $(( $(date +%s) - start ))s"
[[ $print_path -eq 1 ]] && echo "$out"
exit 0
