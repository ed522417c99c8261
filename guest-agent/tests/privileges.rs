//! What a command can gain and how many processes it may have, driven through the exec loop
//! directly: every command runs under no_new_privs (a setuid binary grants nothing), and an EXEC's
//! `max_processes` becomes the command's RLIMIT_NPROC, which binds a command running as a
//! non-root uid. The checks that switch uid need root; without it they say so and pass.

use faas_guest_agent::exec::{self, Outcome};
use faas_guest_agent::protocol::{Bytes, Exec, ExecResult};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

fn req(command: &[&str]) -> Exec {
    Exec {
        command: command.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        cwd: Some("/".into()),
        uid: None,
        gid: None,
        stdin: Bytes(vec![]),
        timeout_ms: 20_000,
        max_output_bytes: 65536,
        max_processes: None,
    }
}

fn run(req: &Exec) -> ExecResult {
    let (_host, guest) = UnixStream::pair().expect("socketpair");
    match exec::run(req, guest.as_raw_fd()) {
        Outcome::Done(r) => r,
        Outcome::HostGone => panic!("host is still connected"),
    }
}

fn stdout(r: &ExecResult) -> String {
    String::from_utf8_lossy(&r.stdout.0).into_owned()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs as `uid`:`uid`. RLIMIT_NPROC counts every process of the uid, wherever it runs, zombies
/// included (orphans of an earlier run may wait a while for the machine's init to reap them), so
/// each check and each run gets a uid of its own: `slot` picks one of a few per test process.
fn as_user(mut r: Exec, slot: u32) -> Exec {
    let uid = 200_000 + (std::process::id() % 100_000) * 4 + slot;
    r.uid = Some(uid);
    r.gid = Some(uid);
    r
}

/// `Max processes` soft and hard limits from /proc/<pid>/limits.
fn nproc_limits(limits: &str) -> (String, String) {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max processes"))
        .unwrap_or_else(|| panic!("no Max processes line in {limits:?}"));
    let mut words = line["Max processes".len()..].split_whitespace();
    let soft = words.next().unwrap_or_default().to_string();
    let hard = words.next().unwrap_or_default().to_string();
    (soft, hard)
}

#[test]
fn every_command_runs_with_no_new_privs() {
    let r = run(&req(&["grep", "^NoNewPrivs:", "/proc/self/status"]));
    assert_eq!(stdout(&r), "NoNewPrivs:\t1\n", "{r:?}");
}

#[test]
fn a_setuid_root_binary_grants_nothing() {
    if !is_root() {
        eprintln!("skipped: needs root to make a setuid-root binary and switch uid");
        return;
    }
    // A copy of id(1), setuid root, in a folder every uid can reach, on a filesystem that honours
    // setuid bits (else the check would prove nothing).
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("suid-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let id = dir.join("id");
    let found = ["/usr/bin/id", "/bin/id"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("id(1) on this machine");
    std::fs::copy(found, &id).expect("copy id");
    std::fs::set_permissions(&id, std::fs::Permissions::from_mode(0o4755)).expect("chmod 4755");
    let traversable = dir
        .ancestors()
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: statvfs is plain data, filled by the call.
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid NUL-terminated path and out-pointer.
    let nosuid =
        unsafe { libc::statvfs(path.as_ptr(), &mut vfs) } == 0 && vfs.f_flag & libc::ST_NOSUID != 0;
    if nosuid || !traversable {
        eprintln!(
            "skipped: {} is on a nosuid filesystem or not reachable by other uids",
            dir.display()
        );
    } else {
        let user = as_user(req(&[id.to_str().expect("utf-8"), "-u"]), 0);
        let want = format!("{}\n", user.uid.unwrap_or_default());
        let r = run(&user);
        assert_eq!(stdout(&r), want, "setuid root took effect: {r:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn max_processes_is_the_commands_rlimit_nproc_soft_and_hard() {
    let mut r = req(&["cat", "/proc/self/limits"]);
    r.max_processes = Some(7);
    let out = run(&r);
    assert_eq!(out.exit_code, Some(0), "{out:?}");
    assert_eq!(nproc_limits(&stdout(&out)), ("7".into(), "7".into()));
    // Absent: the agent's own limit, whatever it is, stays.
    let out = run(&req(&["cat", "/proc/self/limits"]));
    let own = std::fs::read_to_string("/proc/self/limits").expect("own limits");
    assert_eq!(nproc_limits(&stdout(&out)), nproc_limits(&own));
}

#[test]
fn max_processes_binds_a_command_running_as_a_non_root_uid() {
    if !is_root() {
        eprintln!("skipped: needs root to run the command as another uid");
        return;
    }
    // Each background sleep is one more process of the uid; the shell itself is the first. Once
    // a fork fails the shell gives up, so the lines printed are the forks that succeeded.
    let script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & echo started; done";
    let mut limited = as_user(req(&["sh", "-c", script]), 1);
    limited.max_processes = Some(6);
    let r = run(&limited);
    assert_eq!(stdout(&r).lines().count(), 5, "{r:?}");
    assert_ne!(
        r.exit_code,
        Some(0),
        "the shell reports the failed fork: {r:?}"
    );
    // 0: the command runs, but cannot fork at all.
    let mut none = as_user(req(&["sh", "-c", script]), 2);
    none.max_processes = Some(0);
    let r = run(&none);
    assert_eq!(stdout(&r), "", "{r:?}");
    assert!(r.start_error.is_none(), "{r:?}");
    // The same command without the field forks all twelve.
    let r = run(&as_user(req(&["sh", "-c", script]), 3));
    assert_eq!(stdout(&r).lines().count(), 12, "{r:?}");
    assert_eq!(r.exit_code, Some(0), "{r:?}");
}
