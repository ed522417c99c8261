//! How an EXEC ends, driven through the exec loop directly: the raw wait status (a signal is a
//! signal, whatever the shell would have made of it), the timeout kill of a command that ignores
//! every catchable signal, a flood past the output cap drained without copying, and the lower
//! scheduling priority commands run at. Plus the /proc/sysvipc parser RESET relies on.

use faas_guest_agent::exec::{self, Outcome, CHILD_NICE_OFFSET};
use faas_guest_agent::protocol::{Bytes, Exec, ExecResult};
use faas_guest_agent::reset::{parse_sysvipc, SysVObject};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Instant;

fn run(command: &[&str], timeout_ms: u64, max_output_bytes: u64) -> ExecResult {
    let (_host, guest) = UnixStream::pair().expect("socketpair");
    let req = Exec {
        command: command.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        cwd: None,
        uid: None,
        gid: None,
        stdin: Bytes(vec![]),
        timeout_ms,
        max_output_bytes,
        max_processes: None,
    };
    match exec::run(&req, guest.as_raw_fd()) {
        Outcome::Done(r) => r,
        Outcome::HostGone => panic!("host is still connected"),
    }
}

#[test]
fn a_signal_is_reported_as_the_signal_with_no_exit_code() {
    let r = run(&["sh", "-c", "kill -ABRT $$"], 10_000, 1024);
    assert_eq!(r.signal.as_deref(), Some("SIGABRT"), "{r:?}");
    assert_eq!(r.exit_code, None);
    assert!(!r.timed_out);

    let r = run(&["sh", "-c", "kill -KILL $$"], 10_000, 1024);
    assert_eq!(r.signal.as_deref(), Some("SIGKILL"), "{r:?}");
    assert_eq!(r.exit_code, None);
    assert!(
        !r.timed_out,
        "a SIGKILL before the deadline is not a timeout"
    );

    // The shell's own convention (128 + n) stays an exit code: only the direct child's status counts.
    let r = run(
        &["sh", "-c", "sh -c 'kill -ABRT $$'; exit $?"],
        10_000,
        1024,
    );
    assert_eq!(r.exit_code, Some(134), "{r:?}");
    assert_eq!(r.signal, None);
}

#[test]
fn python_abort_is_sigabrt() {
    if std::process::Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .map_or(true, |s| !s.success())
    {
        eprintln!("skipped: no python3");
        return;
    }
    let r = run(&["python3", "-c", "import os; os.abort()"], 10_000, 1024);
    assert_eq!(r.signal.as_deref(), Some("SIGABRT"), "{r:?}");
    assert_eq!(r.exit_code, None);
}

#[test]
fn a_command_ignoring_term_and_int_is_killed_at_the_deadline() {
    let started = Instant::now();
    let r = run(
        &["sh", "-c", "trap '' TERM INT HUP; while :; do :; done"],
        500,
        1024,
    );
    let took = started.elapsed().as_millis();
    assert!(r.timed_out, "{r:?}");
    assert_eq!(r.signal.as_deref(), Some("SIGKILL"));
    assert_eq!(r.exit_code, None);
    assert!((500..1500).contains(&took), "answered after {took} ms");
}

#[test]
fn a_flood_past_the_cap_is_drained_to_the_end_and_marked_truncated() {
    // 64 MiB on each stream against a 4 KiB cap: the command must run to completion (never
    // blocked on a full pipe) and the kept bytes are exactly the first ones.
    let script = "head -c 67108864 /dev/zero | tr '\\0' a; head -c 67108864 /dev/zero | tr '\\0' b >&2; echo end";
    let r = run(&["sh", "-c", script], 60_000, 4096);
    assert_eq!(r.exit_code, Some(0), "{:?}", (r.exit_code, &r.signal));
    assert!(r.truncated);
    assert_eq!(r.stdout.0, vec![b'a'; 4096]);
    assert_eq!(r.stderr.0, vec![b'b'; 4096]);
    assert_eq!(r.combined.0.len(), 8192);

    // A cap of zero discards everything from the first byte.
    let r = run(&["sh", "-c", "echo hi; echo there >&2"], 10_000, 0);
    assert_eq!(r.exit_code, Some(0));
    assert!(r.truncated);
    assert!(r.stdout.0.is_empty() && r.stderr.0.is_empty() && r.combined.0.is_empty());

    // Exactly at the cap is not truncated.
    let r = run(&["sh", "-c", "printf 12345678"], 10_000, 8);
    assert_eq!(r.stdout.0, b"12345678");
    assert!(!r.truncated);
}

#[test]
fn commands_run_nicer_than_the_agent() {
    // SAFETY: getpriority has no preconditions.
    let own = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let r = run(&["sh", "-c", "cut -d' ' -f19 /proc/$$/stat"], 10_000, 1024);
    let nice: i32 = String::from_utf8_lossy(&r.stdout.0)
        .trim()
        .parse()
        .expect("nice value");
    assert_eq!(nice, (own + CHILD_NICE_OFFSET).min(19), "{r:?}");
    assert_eq!(exec::child_nice(), nice);
}

#[test]
fn sysvipc_tables_parse_by_their_header() {
    let shm = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
                1178681683          0   600                  4096    12    12      0 65534 65534 65534 65534          0          0 1764436000                     0                     0\n\
                         0      32769  1600                  4096    13    13      1  1000  1000     0     0          0          0 1764436000                     0                     0\n";
    assert_eq!(
        parse_sysvipc(shm, "shmid"),
        vec![
            SysVObject {
                id: 0,
                uid: 65534,
                cuid: 65534
            },
            SysVObject {
                id: 32769,
                uid: 1000,
                cuid: 0
            },
        ]
    );
    let msg = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n\
                1178681683          1   600           8          1    12     0 65534 65534 65534 65534 1764436000          0 1764436000\n";
    assert_eq!(
        parse_sysvipc(msg, "msqid"),
        vec![SysVObject {
            id: 1,
            uid: 65534,
            cuid: 65534
        }]
    );
    let sem =
        "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n";
    assert!(parse_sysvipc(sem, "semid").is_empty());
    assert!(parse_sysvipc("", "semid").is_empty());
    assert!(parse_sysvipc("garbage without columns\n1 2 3\n", "semid").is_empty());
}
