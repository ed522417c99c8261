//! RESET empties every IPC place of a sandbox: files in /dev/shm, POSIX message queues and
//! System V shared memory, message queues and semaphore sets, written by one invocation and
//! looked for by the next. The agent runs as a container's would: PID 1 of its own PID, IPC and
//! mount namespaces (built with unshare(1), so these checks need root), with a private /dev,
//! /dev/shm and /dev/mqueue, and without CAP_SYS_ADMIN, as under Docker. An agent in the host's
//! namespaces must leave the host's IPC objects alone.

#[path = "../examples/ipc-objects.rs"]
#[allow(dead_code)]
mod ipc_objects;

use faas_guest_agent::protocol::{self, Bytes, Exec, ExecResult, Frame, ReadOutcome, Reset};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HELPER_ENV: &str = "FAAS_IPC_HELPER";
const HELPER_TEST: &str = "ipc_helper_when_asked";

/// Not a check: the body of the helper commands below, which run this test binary again with
/// FAAS_IPC_HELPER set, inside the agent's namespaces. Without the variable it does nothing.
#[test]
fn ipc_helper_when_asked() {
    match std::env::var(HELPER_ENV).as_deref() {
        Ok("create") => println!("IPC {}", ipc_objects::create().expect("create IPC objects")),
        Ok("count") => println!("IPC {}", ipc_objects::count()),
        _ => {}
    }
}

struct Agent {
    child: Child,
    conn: UnixStream,
    _dir: TempDir,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("faas-agent-{tag}-{}", std::process::id()));
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

fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_faas-guest-agent")
}

fn connect(mut child: Child, sock: &Path, dir: TempDir) -> Agent {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(conn) = UnixStream::connect(sock) {
            conn.set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let mut agent = Agent {
                child,
                conn,
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

impl Agent {
    fn call(&mut self, frame: &Frame) -> Frame {
        self.conn.write_all(&frame.encode()).expect("send");
        match protocol::read_frame(&mut self.conn, protocol::MAX_FRAME_BYTES).expect("read") {
            ReadOutcome::Frame(f) => f,
            _ => panic!("no answer to {:?}", frame.frame_type()),
        }
    }

    fn capabilities(&mut self) -> Vec<String> {
        let hello = Frame::Hello(protocol::Hello {
            protocol_versions: vec![protocol::PROTOCOL_VERSION],
        });
        match self.call(&hello) {
            Frame::HelloOk(ok) => ok.capabilities,
            other => panic!("expected HELLO_OK, got {other:?}"),
        }
    }

    fn exec(&mut self, command: &[&str], env: &[String]) -> ExecResult {
        let req = Exec {
            command: command.iter().map(|s| s.to_string()).collect(),
            env: env.to_vec(),
            cwd: Some("/".into()),
            uid: Some(65534),
            gid: Some(65534),
            stdin: Bytes(vec![]),
            timeout_ms: 20_000,
            max_output_bytes: 65536,
            max_processes: None,
        };
        match self.call(&Frame::Exec(req)) {
            Frame::ExecResult(r) => r,
            other => panic!("expected EXEC_RESULT, got {other:?}"),
        }
    }

    fn sh(&mut self, script: &str) -> String {
        let r = self.exec(&["sh", "-c", script], &[]);
        assert_eq!(r.exit_code, Some(0), "{script}: {r:?}");
        String::from_utf8_lossy(&r.stdout.0).into_owned()
    }

    /// Runs this test binary as the IPC helper, as the sandbox user.
    fn helper(&mut self, action: &str) -> String {
        let exe = std::env::current_exe().expect("current exe");
        let exe = exe.to_str().expect("utf-8 path");
        let env = [
            format!("{HELPER_ENV}={action}"),
            "PATH=/usr/bin:/bin".to_string(),
        ];
        let r = self.exec(
            &[
                exe,
                "--exact",
                HELPER_TEST,
                "--nocapture",
                "--test-threads=1",
            ],
            &env,
        );
        let out = String::from_utf8_lossy(&r.stdout.0).into_owned();
        assert_eq!(r.exit_code, Some(0), "helper {action}: {r:?} {out}");
        // The harness prints the test's name on the same line, before the helper's output.
        out.split_once("IPC ")
            .and_then(|(_, rest)| rest.lines().next())
            .unwrap_or_else(|| panic!("helper {action} printed no IPC line: {out}"))
            .to_string()
    }

    fn reset(&mut self) {
        match self.call(&Frame::Reset(Reset { scratch_dir: None })) {
            Frame::ResetOk(_) => {}
            other => panic!("expected RESET_OK, got {other:?}"),
        }
    }
}

/// Root and a working unshare(1); otherwise the namespace checks cannot run here.
fn namespaces_unavailable() -> Option<String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (unshare of PID, IPC and mount namespaces)".into());
    }
    let ok = Command::new("unshare")
        .args(["--ipc", "--mount", "--pid", "--fork", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| "unshare --ipc --mount --pid does not work here".into())
}

/// The agent as a container's main process: PID 1 in fresh PID, IPC and mount namespaces, with
/// its own /proc, a private /dev holding only null, a tmpfs /dev/shm and an mqueue /dev/mqueue,
/// and CAP_SYS_ADMIN dropped (IPC_RMID then needs the owner's uid, as in a Docker container).
fn start_sandboxed_agent() -> Agent {
    let dir = TempDir::new("ipc");
    let sock = dir.0.join("agent.sock");
    let script = r#"set -e
mount -t tmpfs -o mode=755,size=1m tmpfs /dev
mknod -m 666 /dev/null c 1 3
mkdir -m 1777 /dev/shm /dev/mqueue
mount -t tmpfs -o mode=1777,size=1m tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
exec setpriv --bounding-set -sys_admin -- "$0" --unix "$1""#;
    let child = Command::new("unshare")
        .args([
            "--ipc",
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            agent_bin(),
            sock.to_str().expect("utf-8 path"),
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("start unshare");
    connect(child, &sock, dir)
}

#[test]
fn reset_empties_dev_shm_mqueue_and_sysv_ipc_of_its_sandbox() {
    if let Some(why) = namespaces_unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut agent = start_sandboxed_agent();
    assert!(
        agent.capabilities().iter().any(|c| c == "ipc_reset"),
        "an agent that is its sandbox's main process advertises ipc_reset"
    );
    let traversable = Path::new(&std::env::current_exe().unwrap())
        .ancestors()
        .all(|p| {
            std::fs::metadata(p)
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o001 != 0)
                .unwrap_or(false)
        });
    assert!(
        traversable,
        "the test binary must be reachable by uid 65534"
    );

    for round in 0..2 {
        let created = agent.helper("create");
        assert!(created.contains("mq=/faas-probe"), "{created}");
        agent.sh("echo secret > /dev/shm/f; mkdir /dev/shm/d; echo x > /dev/shm/d/g; touch /dev/mqueue/q");
        assert_eq!(agent.helper("count"), "shm=1 msg=1 sem=1 mq=1");
        assert_eq!(
            agent.sh("ls -A /dev/shm; ls -A /dev/mqueue"),
            "d\nf\nfaas-probe\nq\n"
        );
        // A daemon left running past the invocation: killed before the IPC places are emptied.
        agent.sh("(sleep 600 </dev/null >/dev/null 2>&1 &) ; true");

        agent.reset();
        assert_eq!(
            agent.helper("count"),
            "shm=0 msg=0 sem=0 mq=0",
            "round {round}: System V or POSIX IPC objects survived RESET"
        );
        assert_eq!(
            agent.sh("ls -A /dev/shm /dev/mqueue"),
            "/dev/mqueue:\n\n/dev/shm:\n",
            "round {round}: /dev/shm or /dev/mqueue not emptied"
        );
        assert_eq!(
            agent.sh("ps -eo args 2>/dev/null | grep '^sleep 600' || true"),
            ""
        );
    }
    let _ = agent.call(&Frame::Shutdown(Default::default()));
}

#[test]
fn an_agent_in_the_host_namespaces_leaves_the_hosts_ipc_alone() {
    let dir = TempDir::new("host");
    let sock = dir.0.join("agent.sock");
    let child = Command::new(agent_bin())
        .args(["--no-init", "--unix", sock.to_str().unwrap()])
        .stdin(Stdio::null())
        .spawn()
        .expect("start the agent");
    let mut agent = connect(child, &sock, dir);
    assert!(
        !agent.capabilities().iter().any(|c| c == "ipc_reset"),
        "an agent in the host's namespaces must not claim the host's IPC objects"
    );
    // SAFETY: a private segment of this test's own, removed below.
    let shm = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
    assert!(shm >= 0, "shmget: {}", std::io::Error::last_os_error());
    agent.reset();
    // SAFETY: IPC_STAT into a zeroed shmid_ds, then IPC_RMID of our own segment.
    let alive = unsafe {
        let mut ds: libc::shmid_ds = std::mem::zeroed();
        let alive = libc::shmctl(shm, libc::IPC_STAT, &mut ds) == 0;
        libc::shmctl(shm, libc::IPC_RMID, std::ptr::null_mut());
        alive
    };
    assert!(alive, "RESET removed a System V segment of the host");
    let _ = agent.call(&Frame::Shutdown(Default::default()));
}
