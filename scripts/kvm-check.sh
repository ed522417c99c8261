#!/usr/bin/env bash
# The Firecracker check for a host with real KVM: probes /dev/kvm, runs the Firecracker test suites
# (the executor contract, the executor's own Firecracker tests, the real-binary API checks) and
# measures boot-to-agent-ready and snapshot restore-to-result (p50/p99 over N runs), then prints one
# summary. Where KVM is not usable it prints "skipped: <reason>" and exits 0.
#
#   scripts/kvm-check.sh [--runs N]              run the check (N defaults to 20)
#   scripts/kvm-check.sh --pack [--out DIR]      bundle what the check needs for a bare host
#
# Run from a clone (this machine): uses the clone's build (npx tsc -b), node from PATH, and
#   FAAS_FC_BINARY_PATH (required), FAAS_FC_JAILER_PATH (optional, root only),
#   FAAS_FC_KERNEL_PATH (default .cache/kernel/vmlinux), FAAS_FC_ROOTFS_PATH (default: the
#   faas/busybox root filesystem in .cache/rootfs).
# Run on a bare host (Ubuntu 24.04, nothing installed, no network): pack first on a build machine;
#   --pack writes DIR (default .cache/kvm-check: bundle.tar.xz, a static busybox to unpack it, and
#   MANIFEST), at most 64 MiB: node, the built common/executor/tester packages with their runtime
#   node_modules, the firecracker (and jailer) binaries named above, the kernel and one rootfs.
#   Carry DIR to the host's clone at the same place; the run then unpacks it and uses only it.
#   Firecracker under the jailer needs a static binary (the jailer execs it in an empty chroot).
# Exit status: 0 passed or skipped, 1 a check failed, 2 the check could not be set up.
# FAAS_KVM_CHECK_FORCE=1 runs the suites even where the probe finds a KVM known not to boot guests.
# FAAS_KVM_CHECK_TIMEOUT_S (default 300) bounds each of the two stages (suites, timings), in seconds;
# FAAS_KVM_CHECK_LOGS names the folder for the logs (default: a fresh one under $TMPDIR).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=run
runs=20
out="$repo/.cache/kvm-check"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --pack) mode=pack ;;
    --out) out="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    -h|--help) sed -n '2,25p' "$0" | cut -c3-; exit 0 ;;
    *) echo "kvm-check: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ "$runs" =~ ^[0-9]+$ && "$runs" -ge 1 && "$runs" -le 1000 ]] || { echo "kvm-check: --runs takes 1 to 1000" >&2; exit 2; }
stage_timeout="${FAAS_KVM_CHECK_TIMEOUT_S:-300}"
[[ "$stage_timeout" =~ ^[0-9]+$ && "$stage_timeout" -ge 10 ]] || { echo "kvm-check: FAAS_KVM_CHECK_TIMEOUT_S takes a whole number of seconds, at least 10" >&2; exit 2; }

say() { echo "kvm-check: $*" >&2; }
die() { say "$*"; exit 2; }
MAX_BUNDLE_BYTES=$((64 * 1024 * 1024))

# The faas/busybox rootfs the executors built (tools/firecracker-rootfs-builder), if any.
default_rootfs() {
  local id
  id="$(docker image inspect -f '{{.Id}}' faas/busybox:latest 2>/dev/null || true)"
  id="${id#sha256:}"
  if [[ -n "$id" && -f "$repo/.cache/rootfs/$id.ext4" ]]; then echo "$repo/.cache/rootfs/$id.ext4"; fi
}

is_static() { ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }

pack() {
  command -v node >/dev/null || die "node is not installed"
  command -v xz >/dev/null || die "xz is not installed (apt-get install xz-utils)"
  local fc="${FAAS_FC_BINARY_PATH:-}" jailer="${FAAS_FC_JAILER_PATH:-}"
  local kernel="${FAAS_FC_KERNEL_PATH:-$repo/.cache/kernel/vmlinux}" rootfs="${FAAS_FC_ROOTFS_PATH:-$(default_rootfs)}"
  [[ -n "$fc" && -x "$fc" ]] || die "set FAAS_FC_BINARY_PATH to a firecracker binary (built or downloaded outside this repository)"
  [[ -z "$jailer" || -x "$jailer" ]] || die "FAAS_FC_JAILER_PATH=$jailer is not executable"
  [[ -f "$kernel" ]] || die "no kernel at $kernel: run tools/firecracker-rootfs-builder/build-kernel.sh"
  [[ -n "$rootfs" && -f "$rootfs" ]] || die "set FAAS_FC_ROOTFS_PATH (e.g. node tools/firecracker-rootfs-builder/build-rootfs.mjs --image faas/busybox:latest --output FILE)"
  [[ -f "$repo/executor/dist/firecracker/kvm-timings.js" ]] || die "build first: npx tsc -b"
  if [[ -n "$jailer" ]] && ! is_static "$fc"; then
    say "warning: $fc is dynamically linked; the jailer cannot exec it (its chroot has no loader), so the jailer is left out"
    jailer=""
  fi
  local busybox
  busybox="$(command -v busybox || true)"
  [[ -n "$busybox" ]] && is_static "$busybox" || die "a static busybox is needed to unpack the bundle on a bare host (apt-get install busybox-static)"

  local stage
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' RETURN
  local app="$stage/app"
  mkdir -p "$app/.cache/kernel" "$stage/bin" "$stage/lib"
  cp "$(readlink -f "$(command -v node)")" "$stage/bin/node"
  # Fallback only: the host's own libstdc++ is used when it has one.
  local stdcpp
  stdcpp="$(ldd "$stage/bin/node" | awk '/libstdc\+\+/ {print $3}')"
  [[ -n "$stdcpp" ]] && cp -L "$stdcpp" "$stage/lib/"
  cp -L "$fc" "$stage/bin/firecracker"
  [[ -n "$jailer" ]] && cp -L "$jailer" "$stage/bin/jailer"
  cp -L "$kernel" "$app/.cache/kernel/vmlinux"
  cp --sparse=always -L "$rootfs" "$stage/rootfs.ext4"
  # Firecracker's API description, if given, as JSON (the bare host may lack PyYAML).
  if [[ -n "${FAAS_FC_SWAGGER:-}" ]]; then
    python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], "w"), default=str)' \
      "$FAAS_FC_SWAGGER" "$stage/firecracker-api.json" || say "warning: could not convert $FAAS_FC_SWAGGER; the spec checks will skip"
  fi
  cp "$repo/package.json" "$app/"
  for ws in common executor tester; do
    mkdir -p "$app/$ws"
    cp "$repo/$ws/package.json" "$app/$ws/"
    (cd "$repo/$ws" && find dist -name '*.js' -exec cp --parents {} "$app/$ws/" \;)
  done
  # Runtime packages: the dependency closure of what the workspaces import (npm hoists them all).
  (cd "$repo" && node -e '
    const fs = require("fs"), path = require("path");
    // Start from what common and executor declare (the tester adds only its own workspaces and
    // viem, which the Firecracker suites do not load).
    const deps = (ws) => Object.keys(JSON.parse(fs.readFileSync(path.join(ws, "package.json"), "utf8")).dependencies || {});
    const seen = new Set(), todo = [...deps("common"), ...deps("executor")].filter((n) => !n.startsWith("@faas/"));
    while (todo.length) {
      const name = todo.pop();
      if (seen.has(name)) continue;
      seen.add(name);
      const pkg = JSON.parse(fs.readFileSync(path.join("node_modules", name, "package.json"), "utf8"));
      todo.push(...Object.keys(pkg.dependencies || {}));
    }
    console.log([...seen].join("\n"));
  ') | while IFS= read -r pkg; do
    mkdir -p "$app/node_modules/$(dirname "$pkg")"
    cp -r "$repo/node_modules/$pkg" "$app/node_modules/$pkg"
  done
  mkdir -p "$app/node_modules/@faas"
  for ws in common executor tester; do ln -s "../../$ws" "$app/node_modules/@faas/$ws"; done

  mkdir -p "$out"
  rm -f "$out/bundle.tar.xz"
  say "compressing (xz, a minute or two)"
  tar -C "$stage" --sparse -cf - . | xz -9 -T0 >"$out/bundle.tar.xz"
  cp "$busybox" "$out/busybox"
  {
    echo "packed $(date -u +%FT%TZ) on $(uname -n)"
    echo "firecracker $("$fc" --version 2>/dev/null | head -1) $(sha256sum "$fc" | cut -c1-16)"
    [[ -n "$jailer" ]] && echo "jailer $(sha256sum "$jailer" | cut -c1-16)"
    echo "kernel $(readlink -f "$kernel") $(sha256sum "$kernel" | cut -c1-16)"
    echo "rootfs $(readlink -f "$rootfs")"
    echo "node $(node --version)"
    echo "commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  } >"$out/MANIFEST"
  local bytes
  bytes=$(du -cb "$out/bundle.tar.xz" "$out/busybox" "$out/MANIFEST" | tail -1 | cut -f1)
  if ((bytes > MAX_BUNDLE_BYTES)); then die "the bundle is $((bytes / 1048576)) MiB, over the 64 MiB a carried folder may hold"; fi
  say "packed $out ($((bytes / 1048576)) MiB): carry it to the KVM host's clone and run scripts/kvm-check.sh there"
}

# Prints "ok: ..." when /dev/kvm creates a VM and a vCPU and runs a tiny real-mode guest
# (mov dx,0x3f8; mov al,'K'; out dx,al; hlt) to its port write and halt; "fail: ..." otherwise.
probe_kvm() {
  [[ -e /dev/kvm ]] || { echo "fail: /dev/kvm does not exist (no KVM module, or virtualisation is off)"; return; }
  [[ -r /dev/kvm && -w /dev/kvm ]] || { echo "fail: /dev/kvm is not readable and writable by $(id -un)"; return; }
  if command -v python3 >/dev/null; then
    python3 - <<'PY' 2>&1 || true
import ctypes, fcntl, mmap, os, struct
try:
    kvm = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
    api = fcntl.ioctl(kvm, 0xAE00, 0)                      # KVM_GET_API_VERSION
    if api != 12:
        raise OSError(f'KVM API version {api}, expected 12')
    vm = fcntl.ioctl(kvm, 0xAE01, 0)                       # KVM_CREATE_VM
    mem = mmap.mmap(-1, 0x4000, mmap.MAP_SHARED | mmap.MAP_ANONYMOUS, mmap.PROT_READ | mmap.PROT_WRITE)
    code = bytes([0xBA, 0xF8, 0x03, 0xB0, 0x4B, 0xEE, 0xF4])
    mem[0x1000:0x1000 + len(code)] = code
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    fcntl.ioctl(vm, 0x4020AE46, struct.pack('IIQQQ', 0, 0, 0, 0x4000, addr))   # KVM_SET_USER_MEMORY_REGION
    vcpu = fcntl.ioctl(vm, 0xAE41, 0)                      # KVM_CREATE_VCPU
    run = mmap.mmap(vcpu, fcntl.ioctl(kvm, 0xAE04, 0), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    sregs = bytearray(0x138)
    fcntl.ioctl(vcpu, 0x8138AE83, sregs, True)             # KVM_GET_SREGS
    struct.pack_into('QIH', sregs, 0, 0, 0xFFFF, 0)        # cs: base 0, selector 0
    fcntl.ioctl(vcpu, 0x4138AE84, bytes(sregs))            # KVM_SET_SREGS
    regs = bytearray(0x90)
    struct.pack_into('QQ', regs, 16 * 8, 0x1000, 0x2)      # rip, rflags
    fcntl.ioctl(vcpu, 0x4090AE82, bytes(regs))             # KVM_SET_REGS
    exits = []
    for _ in range(4):
        fcntl.ioctl(vcpu, 0xAE80, 0)                       # KVM_RUN
        reason = struct.unpack_from('I', run, 8)[0]
        if reason == 2:                                    # KVM_EXIT_IO
            port, offset = struct.unpack_from('H', run, 34)[0], struct.unpack_from('Q', run, 40)[0]
            exits.append(f'out {port:#x} {chr(run[offset])!r}')
        else:
            exits.append('hlt' if reason == 5 else f'exit reason {reason}')
            break
    if exits != ["out 0x3f8 'K'", 'hlt']:
        raise OSError(f'the test guest did not run as expected: {exits}')
    print(f'ok: KVM API 12, VM and vCPU created, a real-mode test guest ran ({", ".join(exits)})')
except OSError as err:
    print(f'fail: {err}')
PY
  elif command -v perl >/dev/null; then
    perl -e '
      open(my $kvm, "+<", "/dev/kvm") or do { print "fail: cannot open /dev/kvm: $!\n"; exit };
      my $api = ioctl($kvm, 0xAE00, 0);
      defined $api && $api == 12 or do { print "fail: KVM_GET_API_VERSION: ", (defined $api ? $api : $!), "\n"; exit };
      my $vmfd = ioctl($kvm, 0xAE01, 0);
      defined $vmfd or do { print "fail: KVM_CREATE_VM: $!\n"; exit };
      open(my $vm, "+<&=", $vmfd + 0) or do { print "fail: VM fd: $!\n"; exit };
      defined ioctl($vm, 0xAE41, 0) or do { print "fail: KVM_CREATE_VCPU: $!\n"; exit };
      print "ok: KVM API 12, VM and vCPU created (perl probe: no test guest run)\n";'
  else
    echo "ok: /dev/kvm opens (neither python3 nor perl here to create a VM; the suites will tell)"
  fi
}

# A KVM that passes the probe but cannot run a Linux guest: the nested "kvm-pvm" device. Its test
# guest runs, but an ordinary kernel dies at its first xrstor (docs/microvm.md).
known_unbootable() {
  if [[ -d /sys/module/kvm_pvm ]]; then
    echo "/dev/kvm is provided by kvm-pvm (a nested PVM hypervisor): it creates VMs and runs the probe's test guest, but an ordinary guest kernel dies early (xrstor) or crawls under its emulator"
  fi
}

summary_line() { printf '%-26s %s\n' "$1" "$2"; }

run_check() {
  local node app fc jailer kernel rootfs work bundle="$out/bundle.tar.xz"
  local kvm
  kvm="$(probe_kvm)"
  if [[ "$kvm" != ok:* ]]; then
    echo "== faas KVM check =="
    echo "skipped: ${kvm#fail: }"
    exit 0
  fi
  local pvm
  pvm="$(known_unbootable)"
  if [[ -n "$pvm" && "${FAAS_KVM_CHECK_FORCE:-0}" != 1 ]]; then
    echo "== faas KVM check =="
    summary_line "kvm probe:" "$kvm"
    echo "skipped: $pvm (FAAS_KVM_CHECK_FORCE=1 runs the suites anyway)"
    exit 0
  fi

  if [[ -f "$bundle" ]]; then
    work="${TMPDIR:-/tmp}/faas-kvm-check"
    rm -rf "$work" && mkdir -p "$work"
    say "unpacking $bundle into $work"
    if command -v xz >/dev/null; then xz -dc "$bundle" | tar -C "$work" -xf -
    else "$out/busybox" xz -dc "$bundle" | "$out/busybox" tar -C "$work" -xf -; fi
    node="$work/bin/node"
    if ! "$node" --version >/dev/null 2>&1; then export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
    app="$work/app"
    fc="$work/bin/firecracker"
    jailer=""
    [[ -x "$work/bin/jailer" ]] && jailer="$work/bin/jailer"
    kernel="$app/.cache/kernel/vmlinux"
    rootfs="$work/rootfs.ext4"
    [[ -f "$work/firecracker-api.json" ]] && export FAAS_FC_SWAGGER="$work/firecracker-api.json"
  else
    node="$(command -v node || true)"
    app="$repo"
    fc="${FAAS_FC_BINARY_PATH:-}"
    jailer="${FAAS_FC_JAILER_PATH:-}"
    kernel="${FAAS_FC_KERNEL_PATH:-$repo/.cache/kernel/vmlinux}"
    rootfs="${FAAS_FC_ROOTFS_PATH:-$(default_rootfs)}"
  fi
  [[ -n "$node" ]] && "$node" --version >/dev/null || die "no node to run the suites (install Node.js 20, or carry a bundle: --pack)"
  [[ -n "$fc" && -x "$fc" ]] || die "no firecracker binary: set FAAS_FC_BINARY_PATH, or carry a bundle (--pack)"
  [[ -f "$kernel" ]] || die "no guest kernel at $kernel"
  [[ -n "$rootfs" && -f "$rootfs" ]] || die "no root filesystem: set FAAS_FC_ROOTFS_PATH"
  [[ -f "$app/executor/dist/firecracker/kvm-timings.js" ]] || die "no build at $app: run npx tsc -b"
  if [[ -n "$jailer" && $(id -u) -ne 0 ]]; then say "not root: the jailer is left out"; jailer=""; fi

  export FAAS_FC_BINARY_PATH="$fc" FAAS_FC_KERNEL_PATH="$kernel" FAAS_FC_ROOTFS_PATH="$rootfs"
  if [[ -n "$jailer" ]]; then export FAAS_FC_JAILER_PATH="$jailer"; else unset FAAS_FC_JAILER_PATH; fi
  local logs
  if [[ -n "${FAAS_KVM_CHECK_LOGS:-}" ]]; then logs="$FAAS_KVM_CHECK_LOGS"; mkdir -p "$logs"
  else logs="$(mktemp -d "${TMPDIR:-/tmp}/faas-kvm-check-logs.XXXXXX")"; fi

  say "running the Firecracker suites (log: $logs/suites.tap)"
  local suites_rc=0
  (cd "$app" && timeout "$stage_timeout" "$node" --test --test-concurrency=1 --test-reporter=tap \
    executor/dist/firecracker/ tester/dist/contract/firecracker.contract.test.js) >"$logs/suites.tap" 2>&1 || suites_rc=$?
  count() { grep -E "^# $1 [0-9]+" "$logs/suites.tap" | tail -1 | awk '{print $3}'; }
  local pass fail skipped skip_lines
  pass="$(count pass)"; fail="$(count fail)"; skipped="$(count skipped)"
  # Suites that skipped as a whole; the API spec check needs a spec file and is optional.
  skip_lines="$(grep '^# skipping' "$logs/suites.tap" | grep -vc 'API spec checks' || true)"

  say "measuring $runs cold boots and $runs snapshot restores (log: $logs/timings.log)"
  local timings_rc=0
  (cd "$app" && timeout "$stage_timeout" "$node" executor/dist/firecracker/kvm-timings.js --runs "$runs") >"$logs/timings.json" 2>"$logs/timings.log" || timings_rc=$?

  echo
  echo "== faas KVM check =="
  summary_line "host:" "$(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  summary_line "kvm probe:" "$kvm"
  summary_line "firecracker:" "$("$fc" --version 2>/dev/null | head -1) (jailer: ${jailer:-not used})"
  summary_line "suites:" "pass ${pass:-?}, fail ${fail:-?}, skipped ${skipped:-?}, suites that skipped: $skip_lines (exit $suites_rc)"
  local verdict=PASS
  if [[ $suites_rc -ne 0 || "${fail:-1}" != 0 ]]; then
    verdict=FAIL
    if [[ $suites_rc -eq 124 ]]; then echo "    the suites did not finish within $stage_timeout s (each VM that never boots waits out its boot deadline)"; fi
    grep -E '^not ok|^# skipping' "$logs/suites.tap" | head -20 | sed 's/^/    /'
  fi
  if [[ "$skip_lines" != 0 ]]; then
    # A suite that skipped did not check anything: on a KVM host that is a failure of the set-up.
    verdict=FAIL
    grep '^# skipping' "$logs/suites.tap" | grep -v 'API spec checks' | sed 's/^/    /'
  fi
  "$node" -e '
    const fs = require("fs");
    let r;
    try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { console.log("timings:                   none (see the log)"); process.exit(1); }
    const line = (label, s, extra) => console.log(`${label.padEnd(26)} ${s ? `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms (min ${s.minMs}, max ${s.maxMs}, ${s.runs} runs)` : "no successful run"}${extra}`);
    line("boot to agent ready:", r.boot, "");
    line("restore to first result:", r.restore, r.snapshotBuildMs == null ? "" : `; snapshot build ${r.snapshotBuildMs} ms`);
    if (r.restoreFellBackToBoot) console.log(`${"".padEnd(26)} ${r.restoreFellBackToBoot} restores fell back to a cold boot`);
    for (const e of r.errors) console.log(`    ${e}`);
    process.exit(r.boot && r.restore && r.errors.length === 0 ? 0 : 1);
  ' "$logs/timings.json" || verdict=FAIL
  [[ $timings_rc -eq 0 ]] || { verdict=FAIL; tail -5 "$logs/timings.log" | sed 's/^/    /'; }
  summary_line "logs:" "$logs"
  echo "result: $verdict"
  [[ $verdict == PASS ]]
}

if [[ $mode == pack ]]; then pack; else run_check || exit 1; fi
