//! Unit checks of the pieces the integration tests (executor/src/agent/agent.test.ts) cannot
//! reach from outside: kernel command line parsing, stream resynchronisation, message clipping,
//! the exec loop driven directly, and which processes RESET picks from a /proc scan.

use faas_guest_agent::exec::{self, Outcome};
use faas_guest_agent::init::{parse_cmdline, DEFAULT_TMP_MB};
use faas_guest_agent::procs::{parse_stat, targets, ProcInfo, Scope};
use faas_guest_agent::protocol::{self, clip, Bytes, Exec, Frame, ReadOutcome, MAX_MESSAGE_BYTES};
use faas_guest_agent::transport::Transport;
use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

#[test]
fn cmdline_settings() {
    let cfg = parse_cmdline(
        "console=ttyS0 ro faas.transport=serial:agent faas.tmp_mb=128 faas.hostname=fn-1 quiet\n",
    )
    .expect("valid");
    assert_eq!(
        cfg.transport,
        Some(Transport::Serial {
            path: "agent".into()
        })
    );
    assert_eq!(cfg.tmp_mb, 128);
    assert_eq!(cfg.hostname, "fn-1");

    let defaults = parse_cmdline("console=ttyS0").expect("valid");
    assert_eq!(defaults.transport, None);
    assert_eq!(defaults.tmp_mb, DEFAULT_TMP_MB);

    assert_eq!(
        parse_cmdline("faas.transport=vsock:52")
            .expect("valid")
            .transport,
        Some(Transport::Vsock { port: 52 })
    );
    assert!(parse_cmdline("faas.transport=vsock:x").is_err());
    assert!(parse_cmdline("faas.transport=carrier-pigeon:1").is_err());
    assert!(parse_cmdline("faas.tmp_mb=0").is_err());
    assert!(parse_cmdline("faas.tmp_mb=lots").is_err());
}

#[test]
fn stream_stays_in_step_after_a_bad_body_but_not_after_a_bad_length() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&[0, 0, 0, 2, 0x42, b'{', b'}']); // unknown type, body skipped
    bytes.extend_from_slice(&[0, 0, 0, 1, 0x04, b'x']); // bad JSON, body skipped
    bytes.extend_from_slice(&Frame::Shutdown(Default::default()).encode());
    bytes.extend_from_slice(&[0x7f, 0, 0, 0, 0x01]); // oversize: fatal
    let mut r = bytes.as_slice();
    let mut next = || protocol::read_frame(&mut r, 1024).expect("no io error");
    assert!(matches!(next(), ReadOutcome::Bad { fatal: false, .. }));
    assert!(matches!(next(), ReadOutcome::Bad { fatal: false, .. }));
    assert!(matches!(next(), ReadOutcome::Frame(Frame::Shutdown(_))));
    match next() {
        ReadOutcome::Bad { err, fatal: true } => assert_eq!(err.code(), "frame_too_large"),
        _ => panic!("expected a fatal frame_too_large"),
    }
    assert!(matches!(next(), ReadOutcome::Eof));
}

#[test]
fn clip_keeps_char_boundaries() {
    let long = "é".repeat(MAX_MESSAGE_BYTES);
    let clipped = clip(long);
    assert!(clipped.len() <= MAX_MESSAGE_BYTES);
    assert!(clipped.ends_with("..."));
    assert_eq!(clip("short".into()), "short");
}

fn exec_req(command: &[&str], timeout_ms: u64) -> Exec {
    Exec {
        command: command.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        cwd: None,
        uid: None,
        gid: None,
        stdin: Bytes(b"in".to_vec()),
        timeout_ms,
        max_output_bytes: 1024,
        max_processes: None,
    }
}

#[test]
fn exec_runs_and_times_out() {
    let (host, guest) = UnixStream::pair().expect("socketpair");
    let Outcome::Done(r) = exec::run(&exec_req(&["cat"], 5000), guest.as_raw_fd()) else {
        panic!("host is still connected");
    };
    assert_eq!(r.stdout.0, b"in");
    assert_eq!(r.exit_code, Some(0));

    let Outcome::Done(r) = exec::run(&exec_req(&["sleep", "10"], 100), guest.as_raw_fd()) else {
        panic!("host is still connected");
    };
    assert!(r.timed_out);
    assert_eq!(r.signal.as_deref(), Some("SIGKILL"));
    assert!(r.duration_ms < 2000);

    drop(host);
    assert!(matches!(
        exec::run(&exec_req(&["sleep", "10"], 5000), guest.as_raw_fd()),
        Outcome::HostGone
    ));
}

#[test]
fn exec_validation() {
    assert!(exec::validate(&exec_req(&["true"], 1)).is_ok());
    assert!(exec::validate(&exec_req(&[], 1)).is_err());
    assert!(exec::validate(&exec_req(&["a\0b"], 1)).is_err());
    assert!(exec::validate(&exec_req(&["true"], 0)).is_err());
    let mut big = exec_req(&["true"], 1);
    big.max_output_bytes = protocol::MAX_OUTPUT_BYTES + 1;
    assert!(exec::validate(&big).is_err());
    let mut env = exec_req(&["true"], 1);
    env.env = vec!["=x".into()];
    assert!(exec::validate(&env).is_err());
    let mut cwd = exec_req(&["true"], 1);
    cwd.cwd = Some("relative".into());
    assert!(exec::validate(&cwd).is_err());
    let mut procs = exec_req(&["true"], 1);
    procs.max_processes = Some(0);
    assert!(exec::validate(&procs).is_ok());
    procs.max_processes = Some(u32::MAX);
    assert!(exec::validate(&procs).is_ok());
}

#[test]
fn vm_tmpfs_gets_one_inode_per_4k_like_a_container() {
    use faas_guest_agent::init::{tmpfs_inodes, tmpfs_options};
    // The host's rule for a container's /tmp: max(1024, bytes / 4096).
    assert_eq!(tmpfs_inodes(1), 1024);
    assert_eq!(tmpfs_inodes(4), 1024);
    assert_eq!(tmpfs_inodes(8), 2048);
    assert_eq!(tmpfs_inodes(64), 16384);
    assert_eq!(tmpfs_inodes(1 << 20), 1 << 28);
    assert_eq!(tmpfs_options(8), "size=8m,nr_inodes=2048,mode=1777");
}

#[test]
fn vm_root_is_remounted_read_only_nosuid_nodev_in_place() {
    use faas_guest_agent::init::ROOT_REMOUNT_FLAGS;
    for flag in [
        libc::MS_REMOUNT,
        libc::MS_BIND,
        libc::MS_RDONLY,
        libc::MS_NOSUID,
        libc::MS_NODEV,
    ] {
        assert_eq!(ROOT_REMOUNT_FLAGS & flag, flag, "flag {flag:#x}");
    }
    assert_eq!(
        ROOT_REMOUNT_FLAGS & libc::MS_NOEXEC,
        0,
        "the root must stay executable"
    );
}

#[test]
fn clocksource_pinned_only_without_a_paravirtual_clock() {
    use faas_guest_agent::init::clocksource_to_pin;
    let cmdline = "console=ttyS0 ro init=/faas/agent";
    // QEMU TCG: the TSC, early or refined, next to jiffies.
    assert_eq!(
        clocksource_to_pin(cmdline, "tsc-early refined-jiffies jiffies \n"),
        Some("tsc")
    );
    assert_eq!(
        clocksource_to_pin(cmdline, "tsc refined-jiffies jiffies"),
        Some("tsc")
    );
    // KVM (QEMU or Firecracker): kvm-clock stays.
    assert_eq!(
        clocksource_to_pin(cmdline, "kvm-clock tsc-early refined-jiffies jiffies"),
        None
    );
    // The host chose: its word wins.
    assert_eq!(
        clocksource_to_pin(&format!("{cmdline} tsc=reliable"), "tsc refined-jiffies"),
        None
    );
    assert_eq!(
        clocksource_to_pin(&format!("{cmdline} clocksource=jiffies"), "tsc jiffies"),
        None
    );
    // No TSC at all, or no sysfs.
    assert_eq!(clocksource_to_pin(cmdline, "refined-jiffies jiffies"), None);
    assert_eq!(clocksource_to_pin(cmdline, ""), None);
}

#[test]
fn a_wait_status_reports_exactly_one_way_of_ending() {
    // exit(3): a code, no signal; killed by SIGABRT: a signal, no code.
    assert_eq!(exec::ending(3 << 8, false), (Some(3), None));
    assert_eq!(
        exec::ending(libc::SIGABRT, false),
        (None, Some("SIGABRT".to_string()))
    );
    // Timed out: the SIGKILL that was sent, even if the command exited by itself just before it.
    assert_eq!(
        exec::ending(libc::SIGKILL, true),
        (None, Some("SIGKILL".to_string()))
    );
    assert_eq!(exec::ending(0, true), (None, Some("SIGKILL".to_string())));
    assert_eq!(
        exec::ending(1 << 8, true),
        (None, Some("SIGKILL".to_string()))
    );
}

#[test]
fn proc_stat_lines_give_parent_state_and_kernel_thread_flag() {
    // pid (comm) state ppid pgrp session tty_nr tpgid flags ...
    let sleeper = parse_stat("42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0\n").expect("valid");
    assert_eq!(
        sleeper,
        ProcInfo {
            ppid: 1,
            dead: false,
            kthread: false
        }
    );
    // A name with spaces and parentheses: the fields resume after the last ')'.
    let odd = parse_stat("7 (a) b (c) Z 3 7 7 0 -1 0 0").expect("valid");
    assert_eq!((odd.ppid, odd.dead), (3, true));
    let kthread = parse_stat("9 (ksoftirqd/0) S 2 0 0 0 -1 69238880 0 0").expect("valid");
    assert!(
        kthread.kthread,
        "PF_KTHREAD (0x00200000) is set in 69238880"
    );
    assert!(parse_stat("9 (cut").is_none());
    assert!(parse_stat("9 (x) S 1 2").is_none(), "no flags field");
}

fn proc(ppid: libc::pid_t) -> ProcInfo {
    ProcInfo {
        ppid,
        dead: false,
        kthread: false,
    }
}

#[test]
fn reset_targets_every_process_of_an_owned_namespace_but_the_agent_and_its_ancestors() {
    // PID 1 the engine's init, 2 the agent, 5 a command, 9 a daemon that escaped to PID 1 (gVisor
    // refuses PR_SET_CHILD_SUBREAPER), 11 its child, 12 a zombie.
    let mut procs: HashMap<libc::pid_t, ProcInfo> = HashMap::from([
        (1, proc(0)),
        (2, proc(1)),
        (5, proc(2)),
        (9, proc(1)),
        (11, proc(9)),
    ]);
    procs.insert(
        12,
        ProcInfo {
            ppid: 1,
            dead: true,
            kthread: false,
        },
    );
    let ns = Scope::Namespace { broadcast: true };
    assert_eq!(targets(&procs, 2, ns), vec![5, 9, 11]);
    // Only the descendants: the escaped daemon is out of reach.
    let desc = Scope::Descendants { subreaper: false };
    assert_eq!(targets(&procs, 2, desc), vec![5]);

    // A VM: the agent is PID 1 of the initial namespace; kernel threads are never targets.
    let vm: HashMap<libc::pid_t, ProcInfo> = HashMap::from([
        (1, proc(0)),
        (
            2,
            ProcInfo {
                ppid: 0,
                dead: false,
                kthread: true,
            },
        ),
        (
            3,
            ProcInfo {
                ppid: 2,
                dead: false,
                kthread: true,
            },
        ),
        (40, proc(1)),
        (41, proc(40)),
        (50, proc(2)),
    ]);
    let ns = Scope::Namespace { broadcast: false };
    assert_eq!(
        targets(&vm, 1, ns),
        vec![40, 41, 50],
        "a user process a kernel thread started (a usermode helper) goes too"
    );

    // A deeper chain of ancestors (an agent below a shell below PID 1) is spared whole.
    let chain = HashMap::from([(1, proc(0)), (4, proc(1)), (6, proc(4)), (8, proc(1))]);
    assert_eq!(
        targets(&chain, 6, Scope::Namespace { broadcast: true }),
        vec![8]
    );
}
