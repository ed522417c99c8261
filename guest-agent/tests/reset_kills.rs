//! RESET kills every process an invocation left, however it got away: a daemon made with setsid
//! while the command was still running, a double fork, a loop that keeps starting new ones while
//! RESET runs. The agent runs as in each kind of sandbox, in a PID namespace of its own (built with
//! unshare(1), so these checks need root): PID 1 itself (oci), the only child of a minimal init
//! (`docker run --init`), and that child with PR_SET_CHILD_SUBREAPER refused, as gVisor's Sentry
//! refuses it: there a daemon whose parent exits goes to PID 1, not to the agent (the `daemonize`
//! conformance row failed that way under gVisor whenever setsid ran before the command exited).
//! Survivors are looked for in the host's /proc, never through the agent. An agent that does not
//! own its namespace kills its own descendants only, and fails RESET when it cannot find them all.

use faas_guest_agent::protocol::{self, Bytes, Exec, ExecResult, Frame, ReadOutcome, Reset};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HELPER_TEST: &str = "reset_kills_helper_when_asked";
const HELPER_ENV: &str = "FAAS_RESET_HELPER";
const SOCK_ENV: &str = "FAAS_RESET_SOCK";
const SUBREAPER_ENV: &str = "FAAS_RESET_SUBREAPER";
const BYSTANDER_ENV: &str = "FAAS_RESET_BYSTANDER";

fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_faas-guest-agent")
}

/// A seccomp filter (x86_64 numbering) that answers prctl(PR_SET_CHILD_SUBREAPER, ...) with
/// EINVAL, as gVisor does, and allows everything else.
fn refuse_subreaper_filter() -> [libc::sock_filter; 6] {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    [
        // seccomp_data: nr at 0, args[0] at 16 (its low half on a little-endian machine).
        stmt(load, 0),
        jeq(libc::SYS_prctl as u32, 0, 3),
        stmt(load, 16),
        jeq(libc::PR_SET_CHILD_SUBREAPER as u32, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | libc::EINVAL as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Starts the agent (`--unix sock`), with PR_SET_CHILD_SUBREAPER refused when asked.
fn spawn_agent(sock: &str, refuse_subreaper: bool) -> std::io::Result<Child> {
    let mut cmd = Command::new(agent_bin());
    cmd.args(["--no-init", "--unix", sock]).stdin(Stdio::null());
    if refuse_subreaper {
        let filter = refuse_subreaper_filter();
        // SAFETY: after fork, only prctl on memory that outlives the call (moved into the
        // closure); async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                let prog = libc::sock_fprog {
                    len: filter.len() as u16,
                    filter: filter.as_ptr() as *mut libc::sock_filter,
                };
                if libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &prog as *const libc::sock_fprog,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    cmd.spawn()
}

/// Not a check: PID 1 of a sandbox below (this test binary run again by unshare with
/// FAAS_RESET_HELPER=init). Starts a bystander process first when asked, then the agent, and
/// reaps every orphan until the agent exits. Without the variable it does nothing.
#[test]
// Its children are reaped by the waitpid(-1) loop, as an init reaps.
#[allow(clippy::zombie_processes)]
fn reset_kills_helper_when_asked() {
    if std::env::var(HELPER_ENV).as_deref() != Ok("init") {
        return;
    }
    let sock = std::env::var(SOCK_ENV).expect("socket path");
    if let Ok(marker) = std::env::var(BYSTANDER_ENV) {
        Command::new("sleep")
            .arg(marker)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the bystander");
    }
    let refuse = std::env::var(SUBREAPER_ENV).as_deref() == Ok("refuse");
    let agent = spawn_agent(&sock, refuse).expect("start the agent");
    let agent_pid = agent.id() as libc::pid_t;
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == agent_pid {
            std::process::exit(0);
        }
        if pid < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            std::process::exit(1);
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    /// The agent is PID 1 of its namespace (the oci executor).
    Pid1,
    /// The agent is the only child of a minimal init (Docker with --init); `subreaper: false`
    /// is gVisor, where the kernel refuses PR_SET_CHILD_SUBREAPER.
    InitChild { subreaper: bool },
}

struct TempDir(PathBuf);

impl TempDir {
    /// Unique per call: the tests of this file run in parallel in one process.
    fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("faas-agent-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Agent {
    child: Child,
    conn: UnixStream,
    /// The socket path, which only the agent's command line holds.
    sock: String,
    _dir: TempDir,
}

impl Drop for Agent {
    fn drop(&mut self) {
        // The namespace's PID 1 (unshare's child; the agent itself when it is PID 1) first, so
        // that unshare reaps it and exits, and every process of the namespace dies with it.
        let parent = self.child.id().to_string();
        for line in processes() {
            let mut f = line.splitn(3, ' ');
            if let (Some(pid), Some(ppid)) = (f.next(), f.next()) {
                if ppid == parent {
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(pid.parse().unwrap_or(0), libc::SIGKILL) };
                }
            }
        }
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    fn connect(mut child: Child, sock: &Path, dir: TempDir) -> Agent {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(conn) = UnixStream::connect(sock) {
                conn.set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                let mut agent = Agent {
                    child,
                    conn,
                    sock: sock.to_str().expect("utf-8 path").to_string(),
                    _dir: dir,
                };
                let hello = Frame::Hello(protocol::Hello {
                    protocol_versions: vec![protocol::PROTOCOL_VERSION],
                });
                match agent.call(&hello) {
                    Frame::HelloOk(_) => return agent,
                    other => panic!("expected HELLO_OK, got {other:?}"),
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the agent exited before listening: {status}");
            }
            assert!(
                Instant::now() < until,
                "the agent never listened on {sock:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An agent in a PID namespace of its own, shaped like one sandbox kind; `bystander`: a
    /// process (`sleep MARKER`) PID 1 starts before the agent.
    fn sandboxed(shape: Shape, bystander: Option<&str>) -> Agent {
        let dir = TempDir::new("kills");
        let sock = dir.0.join("agent.sock");
        let sock_str = sock.to_str().expect("utf-8 path").to_string();
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--kill-child", "--mount-proc"])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        match shape {
            Shape::Pid1 => {
                cmd.args([agent_bin(), "--no-init", "--unix", &sock_str]);
            }
            Shape::InitChild { subreaper } => {
                let exe = std::env::current_exe().expect("current exe");
                cmd.arg(exe)
                    .args(["--exact", HELPER_TEST, "--nocapture", "--test-threads=1"])
                    .env(HELPER_ENV, "init")
                    .env(SOCK_ENV, &sock_str)
                    .env(SUBREAPER_ENV, if subreaper { "allow" } else { "refuse" });
                if let Some(m) = bystander {
                    cmd.env(BYSTANDER_ENV, m);
                }
            }
        }
        let child = cmd.spawn().expect("start unshare");
        Agent::connect(child, &sock, dir)
    }

    /// An agent started by hand in the host's namespaces (what tests and development do).
    fn on_host(refuse_subreaper: bool) -> Agent {
        let dir = TempDir::new("kills-host");
        let sock = dir.0.join("agent.sock");
        let child = spawn_agent(sock.to_str().expect("utf-8 path"), refuse_subreaper)
            .expect("start the agent");
        Agent::connect(child, &sock, dir)
    }

    fn call(&mut self, frame: &Frame) -> Frame {
        self.conn.write_all(&frame.encode()).expect("send");
        match protocol::read_frame(&mut self.conn, protocol::MAX_FRAME_BYTES).expect("read") {
            ReadOutcome::Frame(f) => f,
            _ => panic!("no answer to {:?}", frame.frame_type()),
        }
    }

    fn sh(&mut self, script: &str) -> ExecResult {
        let req = Exec {
            command: vec!["sh".into(), "-c".into(), script.into()],
            env: vec![],
            cwd: Some("/".into()),
            uid: Some(65534),
            gid: Some(65534),
            stdin: Bytes(vec![]),
            timeout_ms: 20_000,
            max_output_bytes: 65536,
            // Bounds the fork loops below (RLIMIT_NPROC of uid 65534).
            max_processes: Some(32),
        };
        match self.call(&Frame::Exec(req)) {
            Frame::ExecResult(r) => r,
            other => panic!("expected EXEC_RESULT, got {other:?}"),
        }
    }

    fn reset(&mut self) -> Frame {
        self.call(&Frame::Reset(Reset { scratch_dir: None }))
    }
}

fn unavailable() -> Option<String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (unshare of a PID namespace)".into());
    }
    let ok = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| "unshare --pid --mount-proc does not work here".into())
}

/// A `sleep` argument no other process on the host has: `sleep 7xx.nnnnnn`.
fn marker(tag: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}.{:06}{}",
        700 + std::process::id() % 200,
        nanos % 1_000_000,
        tag
    )
}

/// Every live process on the host (zombies left out: they are dead) as "pid ppid cmdline".
fn processes() -> Vec<String> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, r)| r.split_whitespace().collect());
        if fields.len() < 2 || fields[0] == "Z" || fields[0] == "X" {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        found.push(format!("{pid} {} {}", fields[1], cmdline.trim()));
    }
    found
}

/// Live processes on the host whose command line holds `marker`, as `processes` gives them.
fn alive_with(marker: &str) -> Vec<String> {
    processes()
        .into_iter()
        .filter(|line| {
            line.splitn(3, ' ')
                .nth(2)
                .is_some_and(|c| c.contains(marker))
        })
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Commands that leave processes behind in every way a command can: the daemonize row's own
/// (which races the EXEC's group kill), a double fork, and loops that keep starting daemons
/// while RESET runs (single and double forks). `{m}` is the marker.
const LEAVERS: &[&str] = &[
    "setsid sleep {m} </dev/null >/dev/null 2>&1 & echo started",
    "setsid sleep {m} </dev/null >/dev/null 2>&1 & sleep 0.05; echo started",
    "(setsid sh -c 'sleep {m} & exec sleep {m}' </dev/null >/dev/null 2>&1 &); echo started",
    "setsid sh -c 'while :; do setsid sleep {m} </dev/null >/dev/null 2>&1 & done' </dev/null >/dev/null 2>&1 & sleep 0.05; echo started",
    "setsid sh -c 'while :; do (setsid sleep {m} </dev/null >/dev/null 2>&1 &); done' </dev/null >/dev/null 2>&1 & sleep 0.05; echo started",
];

#[test]
fn reset_kills_a_daemon_that_went_to_pid_1_instead_of_the_agent() {
    if let Some(why) = unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut agent = Agent::sandboxed(Shape::InitChild { subreaper: false }, None);
    let m = marker(1);
    // The pause lets setsid run before the command exits and the agent kills its group.
    let r = agent.sh(&format!(
        "setsid sleep {m} </dev/null >/dev/null 2>&1 & sleep 0.2; echo started"
    ));
    assert_eq!(String::from_utf8_lossy(&r.stdout.0), "started\n", "{r:?}");
    let left = alive_with(&m);
    assert_eq!(left.len(), 1, "the daemon outlives the EXEC: {left:?}");
    // Its parent is the sandbox's PID 1 (the init helper), not the agent: no subreaper.
    let agent_line = alive_with(&agent.sock);
    assert_eq!(
        agent_line.len(),
        1,
        "the agent, by its socket: {agent_line:?}"
    );
    let agent_pid = agent_line[0].split(' ').next().unwrap();
    let daemon_parent = left[0].split(' ').nth(1).unwrap();
    assert_ne!(
        daemon_parent, agent_pid,
        "without a subreaper the daemon's parent is PID 1, not the agent"
    );
    match agent.reset() {
        Frame::ResetOk(ok) => assert!(ok.killed >= 1, "{ok:?}"),
        other => panic!("expected RESET_OK, got {other:?}"),
    }
    assert_eq!(
        alive_with(&m),
        Vec::<String>::new(),
        "a daemon that went to PID 1 survived RESET"
    );
}

#[test]
fn reset_wins_every_race_with_daemons_and_fork_loops_in_every_sandbox_shape() {
    if let Some(why) = unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    for (shape, rounds) in [
        (Shape::InitChild { subreaper: false }, 40),
        (Shape::InitChild { subreaper: true }, 15),
        (Shape::Pid1, 15),
    ] {
        let mut agent = Agent::sandboxed(shape, None);
        for i in 0..rounds {
            let m = marker(i);
            let script = LEAVERS[i as usize % LEAVERS.len()].replace("{m}", &m);
            let r = agent.sh(&script);
            assert_eq!(
                String::from_utf8_lossy(&r.stdout.0),
                "started\n",
                "{shape:?} round {i}: {script}: {r:?}"
            );
            match agent.reset() {
                Frame::ResetOk(_) => {}
                other => panic!("{shape:?} round {i}: expected RESET_OK, got {other:?}"),
            }
            // RESET answers once a full scan finds nothing alive: no grace period here.
            let left = alive_with(&m);
            assert!(
                left.is_empty(),
                "{shape:?} round {i}: {script}: alive after RESET: {left:?}"
            );
        }
    }
}

#[test]
fn an_agent_that_does_not_own_its_namespace_kills_only_its_descendants() {
    if let Some(why) = unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    // Another process was there before the agent: it is not the sandbox's main process.
    let bystander = marker(7);
    let mut agent = Agent::sandboxed(Shape::InitChild { subreaper: true }, Some(&bystander));
    wait_for("the bystander", || alive_with(&bystander).len() == 1);
    let m = marker(8);
    agent.sh(&format!(
        "setsid sleep {m} </dev/null >/dev/null 2>&1 & sleep 0.2; echo started"
    ));
    assert_eq!(alive_with(&m).len(), 1);
    match agent.reset() {
        Frame::ResetOk(ok) => assert_eq!(ok.killed, 1, "{ok:?}"),
        other => panic!("expected RESET_OK, got {other:?}"),
    }
    assert!(alive_with(&m).is_empty(), "its own daemon is killed");
    assert_eq!(
        alive_with(&bystander).len(),
        1,
        "a process that is not the agent's must survive RESET"
    );
    drop(agent);

    // The same without a subreaper: an escaped daemon cannot be found, so RESET must fail.
    let bystander = marker(9);
    let mut agent = Agent::sandboxed(Shape::InitChild { subreaper: false }, Some(&bystander));
    wait_for("the bystander", || alive_with(&bystander).len() == 1);
    match agent.reset() {
        Frame::Error(e) => assert_eq!(e.code, "reset_failed", "{e:?}"),
        other => panic!("expected reset_failed, got {other:?}"),
    }
    assert_eq!(alive_with(&bystander).len(), 1);
}

#[test]
fn an_agent_on_the_host_leaves_every_other_process_alone() {
    let m = marker(3);
    let mut mine = Command::new("sleep")
        .arg(&m)
        .stdin(Stdio::null())
        .spawn()
        .expect("start sleep");
    let mut agent = Agent::on_host(false);
    let own = marker(4);
    agent.sh(&format!(
        "setsid sleep {own} </dev/null >/dev/null 2>&1 & sleep 0.2; echo started"
    ));
    match agent.reset() {
        Frame::ResetOk(ok) => assert_eq!(ok.killed, 1, "{ok:?}"),
        other => panic!("expected RESET_OK, got {other:?}"),
    }
    assert!(alive_with(&own).is_empty(), "its own daemon is killed");
    assert_eq!(
        mine.try_wait().expect("try_wait"),
        None,
        "RESET of an agent on the host killed a process of the host"
    );
    let _ = mine.kill();
    let _ = mine.wait();
}
