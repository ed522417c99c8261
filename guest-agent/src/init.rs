//! PID 1 duties inside a microVM: there is no other init, so the agent mounts the pseudo
//! filesystems commands expect, takes its settings from the kernel command line and powers the
//! VM off itself. PID 1 must never exit (the kernel would panic), so every way out goes through
//! `power_off`.

use crate::transport::Transport;
use crate::{log, procs};
use std::ffi::CString;

/// Settings read from /proc/cmdline (`faas.transport=`, `faas.tmp_mb=`, `faas.hostname=`).
#[derive(Debug, PartialEq, Eq)]
pub struct BootConfig {
    pub transport: Option<Transport>,
    pub tmp_mb: u64,
    pub hostname: String,
}

pub const DEFAULT_TMP_MB: u64 = 64;
pub const DEFAULT_HOSTNAME: &str = "sandbox";

pub fn parse_cmdline(cmdline: &str) -> Result<BootConfig, String> {
    let mut cfg = BootConfig {
        transport: None,
        tmp_mb: DEFAULT_TMP_MB,
        hostname: DEFAULT_HOSTNAME.to_string(),
    };
    for word in cmdline.split_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        match key {
            "faas.transport" => cfg.transport = Some(Transport::parse(value)?),
            "faas.tmp_mb" => {
                cfg.tmp_mb = value
                    .parse()
                    .ok()
                    .filter(|&n| (1..=1 << 20).contains(&n))
                    .ok_or_else(|| format!("bad faas.tmp_mb={value}"))?;
            }
            "faas.hostname" if !value.is_empty() && value.len() <= 64 => {
                cfg.hostname = value.into()
            }
            _ => {}
        }
    }
    Ok(cfg)
}

/// Inodes of a tmpfs of `size_mb` MiB: one per 4 KiB of its size, at least 1024, the rule the
/// host gives a container's /tmp (`tmpInodes`, executor/src/docker/container-spec.ts). Without
/// it a tmpfs allows as many inodes as half the guest's RAM pages: empty files would pin kernel
/// memory far beyond the size limit.
pub fn tmpfs_inodes(size_mb: u64) -> u64 {
    (size_mb.saturating_mul(1024 * 1024) / 4096).max(1024)
}

/// Mount options of the /tmp and /dev/shm tmpfs.
pub fn tmpfs_options(size_mb: u64) -> String {
    format!(
        "size={size_mb}m,nr_inodes={},mode=1777",
        tmpfs_inodes(size_mb)
    )
}

/// Flags that make the root mount read-only, nosuid and nodev in place: a bind remount changes
/// only the mount's own flags and leaves the filesystem (already `ro` from the kernel command
/// line) alone. nosuid makes every setuid and setgid bit and file capability of the image inert.
pub const ROOT_REMOUNT_FLAGS: libc::c_ulong =
    libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV;

fn mount(source: &str, target: &str, fstype: &str, flags: libc::c_ulong, data: &str) {
    let _ = std::fs::create_dir_all(target);
    let (Ok(s), Ok(t), Ok(f), Ok(d)) = (
        CString::new(source),
        CString::new(target),
        CString::new(fstype),
        CString::new(data),
    ) else {
        return;
    };
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    let r = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), flags, d.as_ptr().cast()) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EBUSY) {
            log(&format!("mount {fstype} on {target}: {e}"));
        }
    }
}

/// Mounts, hostname and console; returns the boot configuration.
pub fn setup() -> Result<BootConfig, String> {
    let nosuid_nodev = libc::MS_NOSUID | libc::MS_NODEV;
    remount_root();
    mount("proc", "/proc", "proc", nosuid_nodev | libc::MS_NOEXEC, "");
    mount("sysfs", "/sys", "sysfs", nosuid_nodev | libc::MS_NOEXEC, "");
    mount("devtmpfs", "/dev", "devtmpfs", libc::MS_NOSUID, "mode=0755");
    attach_console();
    mount(
        "devpts",
        "/dev/pts",
        "devpts",
        libc::MS_NOSUID | libc::MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620",
    );
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let cfg = parse_cmdline(&cmdline)?;
    let tmpfs = tmpfs_options(cfg.tmp_mb);
    mount("tmpfs", "/tmp", "tmpfs", nosuid_nodev, &tmpfs);
    mount("tmpfs", "/dev/shm", "tmpfs", nosuid_nodev, &tmpfs);
    // POSIX message queues exist without this mount (mq_open works regardless); mounted, RESET
    // can list and remove them. Its root is mode 1777, like /tmp.
    mount(
        "mqueue",
        "/dev/mqueue",
        "mqueue",
        nosuid_nodev | libc::MS_NOEXEC,
        "",
    );
    // SAFETY: the pointer and length describe a live byte string.
    unsafe { libc::sethostname(cfg.hostname.as_ptr().cast(), cfg.hostname.len()) };
    pin_tsc_clocksource(&cmdline);
    Ok(cfg)
}

/// Makes the root mount read-only, nosuid and nodev (`ROOT_REMOUNT_FLAGS`). Every other mount the
/// agent makes is nosuid already, so no setuid bit anywhere in the guest takes effect, on top of
/// the no_new_privs every command runs under.
fn remount_root() {
    // SAFETY: valid NUL-terminated strings; a bind remount reads no source, type or data.
    let r = unsafe {
        libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            ROOT_REMOUNT_FLAGS,
            std::ptr::null(),
        )
    };
    if r != 0 {
        log(&format!(
            "remount / read-only,nosuid,nodev: {}",
            std::io::Error::last_os_error()
        ));
    }
}

const CLOCKSOURCE_DIR: &str = "/sys/devices/system/clocksource/clocksource0";

/// The clocksource to pin, given the kernel command line and the available clocksources, or
/// None to leave the kernel's choice alone.
///
/// Without a paravirtual clock (software emulation: QEMU TCG) the kernel's clocksource watchdog
/// judges the TSC against jiffies, and under emulation jiffies lose ticks whenever the emulated
/// CPU falls behind (a busy command is enough): the watchdog then declares the TSC unstable and
/// the guest falls back to the jiffies clock, whose time runs slow from then on (12 % and more
/// with a busy vCPU), so every timeout fires late in host time. An emulated TSC follows the
/// host's clock, so the agent keeps it, as booting with `tsc=reliable` would: in a periodic-tick
/// kernel a pinned clocksource stays selected even once the watchdog has marked it unstable.
/// A paravirtual clock (kvm-clock under KVM, Firecracker included), or a `clocksource=` or `tsc=`
/// on the command line, wins.
pub fn clocksource_to_pin(cmdline: &str, available: &str) -> Option<&'static str> {
    let set_by_host = cmdline
        .split_whitespace()
        .any(|w| w.starts_with("clocksource=") || w.starts_with("tsc="));
    let names: Vec<&str> = available.split_whitespace().collect();
    let paravirtual = names
        .iter()
        .any(|n| *n == "kvm-clock" || *n == "xen" || n.starts_with("hyperv"));
    let has_tsc = names.iter().any(|n| *n == "tsc" || *n == "tsc-early");
    (!set_by_host && !paravirtual && has_tsc).then_some("tsc")
}

fn pin_tsc_clocksource(cmdline: &str) {
    let available = std::fs::read_to_string(format!("{CLOCKSOURCE_DIR}/available_clocksource"))
        .unwrap_or_default();
    let Some(name) = clocksource_to_pin(cmdline, &available) else {
        return;
    };
    // Accepted even while only tsc-early exists: the kernel switches when "tsc" registers.
    match std::fs::write(format!("{CLOCKSOURCE_DIR}/current_clocksource"), name) {
        Ok(()) => log(&format!(
            "clocksource pinned to {name} (no paravirtual clock)"
        )),
        Err(e) => log(&format!("cannot pin the clocksource to {name}: {e}")),
    }
}

/// The kernel gives init /dev/console as stdio only if the root filesystem has that node; if it
/// did not, open it now that devtmpfs is mounted so log lines reach the serial console.
fn attach_console() {
    // SAFETY: fcntl/open/dup2 on small integer descriptors; failures are ignored.
    unsafe {
        if libc::fcntl(2, libc::F_GETFD) != -1 {
            return;
        }
        let fd = libc::open(c"/dev/console".as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        if fd < 0 {
            return;
        }
        for target in 0..3 {
            if fd != target {
                libc::dup2(fd, target);
            }
        }
        if fd > 2 {
            libc::close(fd);
        }
    }
}

/// Kills everything, flushes the disks and ends the VM. A restart request comes first: QEMU runs
/// with -no-reboot and Firecracker exits on it, while power-off needs ACPI, which the small guest
/// kernel leaves out (without it, power-off only halts the CPU and the VMM keeps running).
pub fn power_off() -> ! {
    // Powering off ends whatever could not be killed.
    let _ = procs::kill_leftovers();
    // SAFETY: sync and reboot take no pointers.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_AUTOBOOT);
        libc::reboot(libc::RB_POWER_OFF);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// True when this process should act as the VM's init: asked to, or PID 1 in a fresh kernel.
/// A container's PID 1 sees a mounted /proc and is not an init (SHUTDOWN then just exits).
pub fn detect(flag: Option<bool>) -> bool {
    flag.unwrap_or_else(|| std::process::id() == 1 && !std::path::Path::new("/proc/self").exists())
}
