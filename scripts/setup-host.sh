#!/usr/bin/env bash
# Prepares a fresh Debian host (as root) for the platform: system packages, the Docker engine with
# gVisor registered as a runtime, Node.js packages, the build, and the runtime images.
# Idempotent: every step checks first and skips what is already there.
#   FAAS_SETUP_VM=1   also install what the VM executors and the full test run need (QEMU, e2fsprogs,
#                     kernel tools; promtool from Debian's prometheus package, which lints /metrics;
#                     chromium, in which tester/src/e2e/console.test.ts drives the web console)
#   FAAS_SETUP_KERNEL_TUNING=0   leave the kernel's cgroup and RCU settings as they are (see
#                     tune_kernel_for_sandboxes)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host.sh must run as root (it installs packages and starts dockerd)" >&2
    exit 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    need_root
    log "installing ${missing[*]}"
    # Package lists can be stale on a fresh image even when present: refresh before installing.
    apt-get update -qq
    # Packages must not start services of their own (the prometheus package would start a server):
    # this script starts what it needs itself. policy-rc.d 101 is Debian's "do not start" answer.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
  fi
}

configure_docker() {
  local cfg=/etc/docker/daemon.json
  mkdir -p /etc/docker
  local runsc_path
  runsc_path=$(command -v runsc || echo /usr/bin/runsc)
  # gVisor here has no KVM, so it uses the ptrace platform; it only starts with networking off.
  # --oci-seccomp: without it runsc ignores the container's seccomp profile (only gVisor's own
  # host-side filter applies); the gvisor executor refuses an engine whose runsc lacks it.
  # A runsc entry of the host keeps its own path and flags and only gains --oci-seccomp; runsc
  # reads its flags with Go's flag package (the last of a repeated flag wins; scripts/docker-runsc-config.cjs).
  local outcome
  outcome=$(node scripts/docker-runsc-config.cjs "$cfg" "$runsc_path") || exit 1
  case "$outcome" in
    ok) return 0 ;;
    shim)
      log "note: the runsc runtime in $cfg uses runtimeType (a containerd shim): set oci-seccomp = true in its runsc configuration yourself; the gvisor executor accepts only runtimeArgs with --oci-seccomp"
      return 0
      ;;
    merged) log "added --oci-seccomp to the runsc runtime in $cfg" ;;
    added) log "added the runsc runtime (with --oci-seccomp) to $cfg" ;;
    written) log "wrote $cfg with the runsc runtime" ;;
  esac
  if docker_up; then
    log "restarting dockerd to load the runsc runtime"
    pkill -x dockerd || true
    for _ in $(seq 1 50); do pgrep -x dockerd >/dev/null || break; sleep 0.2; done
  fi
}

# crun (1.8) creates no cgroup on a cgroup v1 "hybrid" host (v1 hierarchies, plus cgroup2 at
# /sys/fs/cgroup/unified) while that cgroup2 hierarchy holds any controller (often hugetlb, bound
# to no v1 hierarchy). Mounting each such controller as a v1 hierarchy of its own moves it out of
# cgroup2, where nothing used it. Not kept across reboots: the set-up does it again.
hybrid_cgroups_for_crun() {
  local root=/sys/fs/cgroup
  [ "$(stat -fc %T "$root" 2>/dev/null)" = tmpfs ] || return 0
  [ "$(stat -fc %T "$root/unified" 2>/dev/null)" = cgroup2fs ] || return 0
  local controllers moved=() c v1
  controllers=$(cat "$root/unified/cgroup.controllers" 2>/dev/null || true)
  [ -n "$controllers" ] || return 0
  need_root
  for c in $controllers; do
    v1=$c
    [ "$c" = io ] && v1=blkio # cgroup2's io is v1's blkio
    if mountpoint -q "$root/$v1"; then
      log "warning: cgroup2 still holds $c but $root/$v1 is already a mount; crun will not create cgroups here"
    elif mkdir -p "$root/$v1" && mount -t cgroup -o "$v1" cgroup "$root/$v1"; then
      moved+=("$v1")
    else
      log "warning: could not mount the $v1 controller at $root/$v1; crun will not create cgroups here"
    fi
  done
  if [ ${#moved[@]} -gt 0 ]; then
    log "mounted the cgroup controllers ${moved[*]} as v1 hierarchies under $root: crun refuses a hybrid host whose $root/unified holds a controller"
  fi
}

# Two kernel settings that take the RCU grace period (10-40 ms here) off every sandbox start. Both
# are the kernel's own, documented knobs; not kept across reboots (the set-up does it again).
# Opt out with FAAS_SETUP_KERNEL_TUNING=0.
# - cgroup favordynmods (Documentation/admin-guide/cgroup-v2.rst): moving a task between cgroups,
#   which every runtime does for every container, otherwise waits for a grace period when none has
#   passed recently; the price is a slightly slower fork and exit. It is a flag of the cgroup2
#   mount, but it switches the one lock all hierarchies share, so it helps v1 controllers too.
# - /sys/kernel/rcu_expedited (Documentation/ABI/testing/sysfs-kernel-rcu): synchronize_rcu()
#   expedited. gVisor's runsc registers for membarrier(PRIVATE_EXPEDITED) in each of the four Go
#   processes a sandbox start runs (about 10 ms each otherwise), and network namespaces are made
#   and torn down with grace periods; the price is inter-processor interrupts on a busy machine.
tune_kernel_for_sandboxes() {
  [ "${FAAS_SETUP_KERNEL_TUNING:-1}" = "0" ] && { log "kernel tuning skipped (FAAS_SETUP_KERNEL_TUNING=0)"; return 0; }
  [ "$(id -u)" -eq 0 ] || return 0
  local cg2="" done=()
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
    cg2=/sys/fs/cgroup
  elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
    cg2=/sys/fs/cgroup/unified
  fi
  if [ -n "$cg2" ]; then
    if grep -q " $cg2 cgroup2 .*favordynmods" /proc/mounts; then
      done+=("favordynmods (already)")
    elif mount -o remount,favordynmods "$cg2" 2>/dev/null; then
      done+=("favordynmods on $cg2")
    else
      log "note: could not remount $cg2 with favordynmods (kernel 6.0 or later has it): sandbox starts wait for RCU grace periods"
    fi
  fi
  if [ -w /sys/kernel/rcu_expedited ]; then
    if [ "$(cat /sys/kernel/rcu_expedited)" = 1 ] || echo 1 >/sys/kernel/rcu_expedited 2>/dev/null; then
      done+=("rcu_expedited=1")
    fi
  else
    log "note: /sys/kernel/rcu_expedited is not writable here: each gVisor sandbox start waits for RCU grace periods"
  fi
  [ ${#done[@]} -gt 0 ] && log "kernel tuned for sandbox starts: ${done[*]} (docs/SECURITY.md, host settings; FAAS_SETUP_KERNEL_TUNING=0 skips)"
  return 0
}

docker_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_docker() {
  if docker_up; then return; fi
  need_root
  log "starting dockerd (log: /var/log/dockerd.log)"
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker
  else
    (setsid dockerd >/var/log/dockerd.log 2>&1 &)
  fi
  for _ in $(seq 1 150); do
    docker_up && return
    sleep 0.2
  done
  echo "dockerd did not come up in 30 s; see /var/log/dockerd.log" >&2
  tail -20 /var/log/dockerd.log >&2 || true
  exit 1
}

# The oci executor's runtimes (FAAS_OCI_RUNTIME): runc, crun, runsc. golang-github-containers-common:
# the default seccomp profile (/usr/share/containers/seccomp.json) that the oci executor loads.
# skopeo: makes OCI image layouts (FAAS_OCI_IMAGE_LAYOUT), and the oci-layout contract test uses it.
packages=(docker.io runc crun runsc busybox-static mmdebstrap ca-certificates curl golang-github-containers-common skopeo)
if [ "${FAAS_SETUP_VM:-0}" = "1" ]; then
  packages+=(qemu-system-x86 qemu-utils e2fsprogs linux-source-6.1 build-essential flex bison bc libelf-dev xz-utils prometheus chromium)
fi
apt_install "${packages[@]}"
hybrid_cgroups_for_crun
tune_kernel_for_sandboxes
configure_docker
start_docker

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "building the guest agent (static Rust binary)"
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust (https://rustup.rs) to build the guest agent" >&2; exit 1; }
bash guest-agent/build.sh >/dev/null
log "building"
npx tsc -b
log "building the web console (console/dist/site, served at /console)"
npm run build -w console
# The `faas` command (bin/package.json "bin": bin/faas.mjs) on the PATH, pointing at this checkout.
# npm link replaces an older link, so running the set-up again (or from another checkout) is safe.
log "linking the faas command onto the PATH (npm link -w bin)"
npm link -w bin --no-audit --no-fund --loglevel=error >/dev/null
faas_bin="$(npm prefix -g)/bin/faas"
if [ "$(command -v faas || true)" != "$faas_bin" ]; then
  log "note: $faas_bin is not first on this shell's PATH; run it as $faas_bin or add $(dirname "$faas_bin") to PATH"
fi
log "building runtime images"
bash tools/images/build-images.sh
if [ "${FAAS_SETUP_VM:-0}" = "1" ]; then
  log "building the guest kernel (cached outside the clone in /var/cache/faas/kernel/<key>, .cache/kernel/vmlinux links to it; a first build takes 3-15 minutes on 2 cores)"
  bash tools/firecracker-rootfs-builder/build-kernel.sh
  log "building VM root filesystems for faas/busybox and faas/python (cached in .cache/rootfs)"
  node tools/firecracker-rootfs-builder/build-rootfs.mjs --image faas/busybox:latest --image faas/python:latest
fi
log "host ready"
