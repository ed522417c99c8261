//! Runs one EXEC: a command in its own session (so its whole process group can be killed), with
//! stdin fed and stdout/stderr drained from one poll loop. One loop instead of helper threads
//! means a child that never reads stdin, never closes its pipes or leaves a background process
//! holding them can delay the agent by at most the timeout, never block it.

use crate::procs;
use crate::protocol::{clip, Bytes, Exec, ExecResult, MAX_OUTPUT_BYTES};
use crate::sys;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// PATH given to commands whose env has none, the same default container engines use.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// After the command exits, how long to keep reading output that processes outside its group
/// (which escaped with setsid) may still hold open.
const DRAIN_GRACE: Duration = Duration::from_millis(100);
/// Poll tick when the kernel has no pidfd_open and exit cannot be waited for directly.
const FALLBACK_TICK: Duration = Duration::from_millis(5);
/// After the SIGKILL at the timeout, how long to wait for the exit status before answering
/// anyway (a process stuck in uninterruptible sleep dies only when its I/O ends).
const KILL_GRACE: Duration = Duration::from_millis(1000);
/// How much nicer than the agent commands run (see `child_nice`).
pub const CHILD_NICE_OFFSET: libc::c_int = 10;
/// Largest chunk spliced to /dev/null at once when a stream is past its cap.
const DISCARD_CHUNK: usize = 1 << 20;
/// Past its cap a stream's pipe is enlarged to `DISCARD_PIPE_BYTES`, and a drain that found it
/// less than half full is followed by a pause of `DISCARD_INTERVAL` before the next: a flood of
/// small writes then costs the agent at most 100 wake-ups a second instead of one per write, while
/// a writer that fills the pipe between drains is drained as fast as it writes.
const DISCARD_INTERVAL: Duration = Duration::from_millis(10);
const DISCARD_PIPE_BYTES: libc::c_int = 1 << 20;

/// Rejects requests that could never run, before anything is spawned.
pub fn validate(req: &Exec) -> Result<(), String> {
    if req.command.is_empty() || req.command[0].is_empty() {
        return Err("command must be a non-empty list with a non-empty program".into());
    }
    let all = req.command.iter().chain(&req.env).chain(&req.cwd);
    if all.into_iter().any(|s| s.contains('\0')) {
        return Err("command, env and cwd must not contain NUL bytes".into());
    }
    if let Some(bad) = req.env.iter().find(|e| e.find('=').is_none_or(|i| i == 0)) {
        return Err(format!("env entry is not KEY=VALUE: {bad:?}"));
    }
    if req.timeout_ms == 0 || req.timeout_ms > i32::MAX as u64 {
        return Err("timeout_ms must be between 1 and 2147483647".into());
    }
    if req.max_output_bytes > MAX_OUTPUT_BYTES {
        return Err(format!(
            "max_output_bytes must be at most {MAX_OUTPUT_BYTES}"
        ));
    }
    if let Some(cwd) = &req.cwd {
        if !cwd.starts_with('/') {
            return Err("cwd must be an absolute path".into());
        }
    }
    Ok(())
}

/// What ended the wait: the host hanging up means nobody wants the result.
pub enum Outcome {
    Done(ExecResult),
    HostGone,
}

pub fn run(req: &Exec, conn: RawFd) -> Outcome {
    let started = Instant::now();
    let program = &req.command[0];
    if let Some(cwd) = &req.cwd {
        if !std::path::Path::new(cwd).is_dir() {
            return Outcome::Done(start_failure(
                None,
                format!("working directory not found: {cwd}"),
                started,
            ));
        }
    }
    crate::reset::note_command_uid(req.uid);
    let mut cmd = Command::new(program);
    cmd.args(&req.command[1..]).env_clear();
    let has_path = req.env.iter().any(|e| e.starts_with("PATH="));
    for entry in req
        .env
        .iter()
        .map(String::as_str)
        .chain((!has_path).then_some(DEFAULT_PATH))
    {
        if let Some((k, v)) = entry.split_once('=') {
            cmd.env(k, v);
        }
    }
    if let Some(cwd) = &req.cwd {
        cmd.current_dir(cwd);
    }
    if let Some(gid) = req.gid {
        cmd.gid(gid);
    }
    if let Some(uid) = req.uid {
        cmd.uid(uid);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let nice = child_nice();
    let max_processes = req.max_processes;
    // SAFETY: setsid, sigemptyset, sigprocmask, setpriority, prctl, getrlimit and setrlimit are
    // async-signal-safe and only touch the child's own stack. The mask matters: the agent blocks
    // SIGCHLD for its reaper, and a mask survives exec, so without this every command would start
    // with SIGCHLD blocked. std runs this after setgid/setuid: the limits below are the command's
    // user's, set without privilege, and it cannot raise them again.
    unsafe {
        cmd.pre_exec(move || {
            sys::cvt(libc::setsid())?;
            // Raising one's own nice value needs no privilege; failure only loses the headroom.
            libc::setpriority(libc::PRIO_PROCESS, 0, nice);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            sys::cvt(libc::sigprocmask(
                libc::SIG_SETMASK,
                &set,
                std::ptr::null_mut(),
            ))?;
            // Always: a setuid binary in the image (su, newgrp) must not make the command root,
            // in a VM (where nothing else sets it) as much as in a container.
            sys::set_no_new_privs()?;
            if let Some(max) = max_processes {
                sys::limit_processes(max)?;
            }
            Ok(())
        });
    }
    let mut table = procs::lock();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            drop(table);
            let (code, msg) = describe_spawn_error(program, &e);
            return Outcome::Done(start_failure(code, msg, started));
        }
    };
    let pid = child.id() as libc::pid_t;
    table.track(pid);
    drop(table);

    let io = Pipes {
        stdin: child.stdin.take().map(OwnedFd::from),
        stdout: child.stdout.take().map(OwnedFd::from),
        stderr: child.stderr.take().map(OwnedFd::from),
    };
    let outcome = supervise(req, pid, io, conn, started);
    // The direct child is gone (or killed); whatever is left of its group goes too.
    sys::kill_group(pid);
    procs::lock().untrack(pid);
    outcome
}

/// The nice value commands start with: `CHILD_NICE_OFFSET` above the agent's own, at most 19.
/// Under CFS a nice-10 task weighs about a tenth of a nice-0 one, so a command that spins on
/// every CPU (or floods its output) cannot keep the agent from its deadline, its output pipes and
/// its answer; alone on the CPU the command still gets all of it. Commands cannot lower it again
/// (that needs CAP_SYS_NICE). Not SCHED_IDLE: at a weight of 3 against 1024, the agent draining
/// a flood or any busy kernel worker would all but stop the command. Not SCHED_BATCH: it only
/// stops the command from preempting on wake-up and leaves the shares of CPU time equal.
pub fn child_nice() -> libc::c_int {
    // SAFETY: getpriority has no memory-safety preconditions; -1 is a valid nice value, so errno
    // is not consulted and a failure reads as the agent being at -1 (the result stays in range).
    let own = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    (own + CHILD_NICE_OFFSET).clamp(-20, 19)
}

struct Pipes {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
}

#[derive(Default)]
struct Capture {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    combined: Vec<u8>,
    truncated: bool,
}

impl Capture {
    fn full(&self, is_err: bool, cap: usize) -> bool {
        let stream = if is_err { &self.stderr } else { &self.stdout };
        stream.len() >= cap
    }

    /// Keeps at most `cap` bytes per stream; the rest is read and dropped so the child never
    /// blocks on a full pipe.
    fn push(&mut self, is_err: bool, data: &[u8], cap: usize) {
        let stream = if is_err {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        let keep = data.len().min(cap.saturating_sub(stream.len()));
        if keep < data.len() {
            self.truncated = true;
        }
        stream.extend_from_slice(&data[..keep]);
        self.combined.extend_from_slice(&data[..keep]);
    }
}

fn supervise(
    req: &Exec,
    pid: libc::pid_t,
    mut io: Pipes,
    conn: RawFd,
    started: Instant,
) -> Outcome {
    let cap = req.max_output_bytes as usize;
    let deadline = started + Duration::from_millis(req.timeout_ms);
    let pidfd = sys::pidfd_open(pid);
    let mut out = Capture::default();
    let mut stdin_pos = 0usize;
    let mut status: Option<libc::c_int> = None;
    let mut timed_out = false;
    let mut drain_until: Option<Instant> = None;
    let mut buf = vec![0u8; 64 * 1024];
    let mut discard = Discard::default();
    // Per stream (stdout, stderr): not polled again before this instant once past the cap.
    let mut next_drain: [Option<Instant>; 2] = [None, None];
    let mut pipe_bytes: [usize; 2] = [0, 0];
    let mut killed_at: Option<Instant> = None;
    if req.stdin.0.is_empty() {
        io.stdin = None;
    } else if let Some(fd) = &io.stdin {
        if sys::set_nonblocking(fd.as_raw_fd()).is_err() {
            io.stdin = None;
        }
    }

    loop {
        if status.is_none() {
            status = procs::lock().take_status(pid);
            if status.is_some() {
                sys::kill_group(pid);
                drain_until = Some(Instant::now() + DRAIN_GRACE);
            }
        }
        let pipes_open = io.stdout.is_some() || io.stderr.is_some();
        if status.is_some() && (!pipes_open || drain_until.is_some_and(|t| Instant::now() >= t)) {
            break;
        }
        let now = Instant::now();
        if status.is_none() && !timed_out && now >= deadline {
            timed_out = true;
            killed_at = Some(now);
            sys::kill_group(pid);
        }
        if status.is_none() && killed_at.is_some_and(|t| now >= t + KILL_GRACE) {
            // Killed but not gone: answer now; the reaper collects it whenever it dies.
            crate::log(&format!(
                "pid {pid} outlived SIGKILL by {KILL_GRACE:?}; answering"
            ));
            break;
        }

        let mut fds = Vec::with_capacity(5);
        let slot = |fds: &mut Vec<libc::pollfd>, fd: Option<&OwnedFd>, ev| {
            fd.map(|f| {
                fds.push(sys::pollfd(f.as_raw_fd(), ev));
                fds.len() - 1
            })
        };
        let resting = |i: usize| next_drain[i].is_some_and(|t| now < t);
        let i_out = slot(
            &mut fds,
            io.stdout.as_ref().filter(|_| !resting(0)),
            libc::POLLIN,
        );
        let i_err = slot(
            &mut fds,
            io.stderr.as_ref().filter(|_| !resting(1)),
            libc::POLLIN,
        );
        let i_in = slot(&mut fds, io.stdin.as_ref(), libc::POLLOUT);
        // Only wakes the poll; the exit status is collected at the top of the loop.
        let _ = slot(
            &mut fds,
            pidfd.as_ref().filter(|_| status.is_none()),
            libc::POLLIN,
        );
        fds.push(sys::pollfd(conn, libc::POLLRDHUP));
        let i_conn = fds.len() - 1;

        let mut wait = match (status, timed_out) {
            (Some(_), _) => {
                drain_until.map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
            }
            (None, false) => deadline.saturating_duration_since(now),
            // Killed on timeout; the exit arrives within moments, keep the loop responsive.
            (None, true) => Duration::from_millis(50),
        };
        if status.is_none() && pidfd.is_none() {
            wait = wait.min(FALLBACK_TICK);
        }
        for (i, open) in [io.stdout.is_some(), io.stderr.is_some()]
            .into_iter()
            .enumerate()
        {
            if let Some(t) = next_drain[i].filter(|_| open && resting(i)) {
                wait = wait.min(t.saturating_duration_since(now));
            }
        }
        if sys::poll(&mut fds, Some(wait)).is_err() {
            std::thread::sleep(FALLBACK_TICK);
            continue;
        }
        let ready = |i: Option<usize>| i.and_then(|i| fds.get(i)).is_some_and(|p| p.revents != 0);
        if fds[i_conn].revents & (libc::POLLHUP | libc::POLLRDHUP | libc::POLLERR) != 0 {
            sys::kill_group(pid);
            wait_exit(pid);
            return Outcome::HostGone;
        }
        for (idx, is_err) in [(i_out, false), (i_err, true)] {
            if !ready(idx) {
                continue;
            }
            let slot = if is_err {
                &mut io.stderr
            } else {
                &mut io.stdout
            };
            let Some(fd) = slot.as_ref().map(|f| f.as_raw_fd()) else {
                continue;
            };
            // Past the cap the bytes are only counted: moved to /dev/null inside the kernel, a
            // megabyte at a time, never copied through the agent.
            if out.full(is_err, cap) {
                let i = usize::from(is_err);
                if pipe_bytes[i] == 0 {
                    // First time past the cap: a bigger pipe holds more between two drains.
                    // SAFETY: fcntl on a descriptor this loop owns; failure keeps the old size.
                    let size = unsafe {
                        libc::fcntl(fd, libc::F_SETPIPE_SZ, DISCARD_PIPE_BYTES);
                        libc::fcntl(fd, libc::F_GETPIPE_SZ)
                    };
                    pipe_bytes[i] = usize::try_from(size).unwrap_or(0).max(4096);
                }
                match discard.drain(fd) {
                    Drained::Eof => {
                        *slot = None;
                        continue;
                    }
                    Drained::Dropped(n) => {
                        out.truncated |= n > 0;
                        next_drain[i] =
                            (n < pipe_bytes[i] / 2).then(|| Instant::now() + DISCARD_INTERVAL);
                        continue;
                    }
                    Drained::Unsupported => {}
                }
            }
            match sys::read(fd, &mut buf) {
                Ok(n) if n > 0 => out.push(is_err, &buf[..n], cap),
                _ => *slot = None,
            }
        }
        if ready(i_in) {
            feed_stdin(&mut io.stdin, &req.stdin.0, &mut stdin_pos);
        }
    }

    // No status only when the kill grace ran out: report the SIGKILL that was sent.
    let status = status.unwrap_or(libc::SIGKILL);
    let (exit_code, signal) = ending(status, timed_out);
    Outcome::Done(ExecResult {
        stdout: Bytes(out.stdout),
        stderr: Bytes(out.stderr),
        combined: Bytes(out.combined),
        exit_code,
        signal,
        truncated: out.truncated,
        timed_out,
        start_error: None,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// The exit code and signal an EXEC_RESULT reports for a wait status: exactly one of them. A timed
/// out command reports the SIGKILL the agent sent, even when it exited by itself in the instant
/// between the deadline and the kill.
pub fn ending(status: i32, timed_out: bool) -> (Option<i32>, Option<String>) {
    let st = ExitStatus::from_raw(status);
    if timed_out {
        return (
            None,
            Some(sys::signal_name(st.signal().unwrap_or(libc::SIGKILL))),
        );
    }
    (st.code(), st.signal().map(sys::signal_name))
}

/// Discards output past the cap with splice(2) into /dev/null, opened on first use.
/// `Unsupported` when splicing is not possible (no /dev/null, a kernel without splice); the
/// caller then reads and drops.
#[derive(Default)]
struct Discard {
    null: Option<std::fs::File>,
    unusable: bool,
}

enum Drained {
    Eof,
    Dropped(usize),
    Unsupported,
}

impl Discard {
    fn drain(&mut self, from: RawFd) -> Drained {
        if self.unusable {
            return Drained::Unsupported;
        }
        if self.null.is_none() {
            match std::fs::OpenOptions::new().write(true).open("/dev/null") {
                Ok(f) => self.null = Some(f),
                Err(_) => {
                    self.unusable = true;
                    return Drained::Unsupported;
                }
            }
        }
        let Some(to) = self.null.as_ref().map(|f| f.as_raw_fd()) else {
            return Drained::Unsupported;
        };
        match sys::splice_out(from, to, DISCARD_CHUNK) {
            Ok(0) => Drained::Eof,
            Ok(n) => Drained::Dropped(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Drained::Dropped(0),
            Err(_) => {
                self.unusable = true;
                Drained::Unsupported
            }
        }
    }
}

/// Writes as much stdin as the pipe takes; closes it when done or when the child stopped reading.
fn feed_stdin(stdin: &mut Option<OwnedFd>, data: &[u8], pos: &mut usize) {
    let Some(fd) = stdin.as_ref() else { return };
    let rest = &data[*pos..];
    // SAFETY: rest is a valid slice; the descriptor is non-blocking.
    let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
    if n >= 0 {
        *pos += n as usize;
        if *pos >= data.len() {
            *stdin = None;
        }
        return;
    }
    let e = io::Error::last_os_error();
    if !matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    ) {
        *stdin = None; // EPIPE: the child closed its end; the rest of the payload is unwanted.
    }
}

/// After SIGKILL the exit is imminent; waits briefly so the zombie does not outlive the EXEC.
fn wait_exit(pid: libc::pid_t) {
    for _ in 0..200 {
        if procs::lock().take_status(pid).is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn describe_spawn_error(program: &str, e: &io::Error) -> (Option<i32>, String) {
    match e.raw_os_error() {
        Some(libc::ENOENT) if program.contains('/') => {
            (Some(127), format!("no such file: {program}"))
        }
        Some(libc::ENOENT) => (Some(127), format!("command not found: {program}")),
        Some(libc::EACCES) => (Some(126), format!("permission denied: {program}")),
        Some(libc::ENOEXEC) => (Some(126), format!("exec format error: {program}")),
        Some(libc::EISDIR) => (Some(126), format!("is a directory: {program}")),
        _ => (None, format!("cannot start {program}: {e}")),
    }
}

fn start_failure(exit_code: Option<i32>, message: String, started: Instant) -> ExecResult {
    ExecResult {
        exit_code,
        start_error: Some(clip(message)),
        duration_ms: started.elapsed().as_millis() as u64,
        ..ExecResult::default()
    }
}
