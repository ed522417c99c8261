//! Process bookkeeping: one lock serialises every waitpid in the agent. The agent is PID 1 (in a
//! VM, or in a container) or a child subreaper, so orphans of the commands it runs become its
//! children and must be reaped; a blind `waitpid(-1)` would also steal the exit status of the
//! command an EXEC is waiting for, and std's `spawn` reaps a child whose exec failed. Holding the
//! lock across spawn and across the reaper's `waitpid(-1)` calls makes both safe. (gVisor refuses
//! the subreaper: there orphans go to the engine's init, which reaps them.)
//!
//! Also which processes RESET kills (`Scope`, `kill_leftovers`).

use crate::sys;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

#[derive(Default)]
pub struct Table {
    /// Children an EXEC is waiting for; their status is parked here if the reaper gets it first.
    tracked: HashSet<libc::pid_t>,
    statuses: HashMap<libc::pid_t, libc::c_int>,
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(Table::default()))
}

/// Poisoning only means another thread panicked mid-update of plain sets; the data is usable.
pub fn lock() -> MutexGuard<'static, Table> {
    table().lock().unwrap_or_else(|p| p.into_inner())
}

impl Table {
    pub fn track(&mut self, pid: libc::pid_t) {
        self.tracked.insert(pid);
    }

    pub fn untrack(&mut self, pid: libc::pid_t) {
        self.tracked.remove(&pid);
        self.statuses.remove(&pid);
    }

    /// The wait status of a tracked child once it has exited, reaping it if nobody has yet.
    pub fn take_status(&mut self, pid: libc::pid_t) -> Option<libc::c_int> {
        if let Some(s) = self.statuses.remove(&pid) {
            return Some(s);
        }
        sys::try_reap(pid)
    }

    fn reap_all(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: status is a valid out-pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid > 0 {
                if self.tracked.contains(&pid) {
                    self.statuses.insert(pid, status);
                }
                continue;
            }
            if pid < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
    }
}

/// Blocks SIGCHLD in the calling thread (call before any other thread starts, so every thread
/// inherits the mask) and starts the reaper, which waits for it with sigtimedwait.
pub fn start_reaper() {
    // SAFETY: sigset manipulation on a local, zero-initialised set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(reaper_loop)
        .map(|_| ())
        .unwrap_or_else(|e| crate::log(&format!("cannot start the reaper thread: {e}")));
}

fn reaper_loop() {
    // SAFETY: as above; the timeout bounds how long a missed signal can delay reaping.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        set
    };
    let timeout = libc::timespec {
        tv_sec: 1,
        tv_nsec: 0,
    };
    loop {
        // SAFETY: valid set and timeout pointers; siginfo is not requested.
        unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &timeout) };
        lock().reap_all();
    }
}

/// Asks the kernel to hand orphaned descendants to the agent (it is not PID 1 outside a VM), so
/// RESET can find processes that escaped their group with setsid and double forks. False when the
/// kernel refuses: gVisor's Sentry (runsc 2022 and earlier) answers EINVAL, and orphans then go
/// to PID 1 of the sandbox (the engine's init) instead of to the agent.
pub fn become_subreaper() -> bool {
    // SAFETY: prctl with integer arguments only.
    let ok = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
    if !ok {
        crate::log(&format!(
            "the kernel refused PR_SET_CHILD_SUBREAPER: {}",
            std::io::Error::last_os_error()
        ));
    }
    ok
}

/// Whether the kernel will hand this process the orphans of its descendants.
fn is_subreaper() -> bool {
    let mut v: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through a valid pointer.
    let r = unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut v as *mut libc::c_int,
            0,
            0,
            0,
        )
    };
    r == 0 && v != 0
}

/// Which processes RESET (and the agent's exit) kills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every process of the agent's PID namespace except the agent and its ancestors (the
    /// engine's init, when the agent is PID 1's child) and kernel threads: the agent is its
    /// sandbox's main process, so anything else there was started by a command. A process cannot
    /// leave a PID namespace, so no reparenting, setsid or double fork escapes this, whoever ends
    /// up its parent. `broadcast`: the namespace is not the host's initial one, and every round
    /// also sends kill(-1, SIGKILL), which reaches every process of the namespace but PID 1 and
    /// the caller in one pass that no fork can slip through (Linux and gVisor alike). Not in a
    /// VM's initial namespace, where kill(-1) would reach kernel threads too.
    Namespace { broadcast: bool },
    /// The agent's descendants only: it runs next to processes that are not the sandbox's (an
    /// agent started by hand or by tests in the host's namespaces). Complete only while the agent
    /// is a child subreaper (`subreaper`): otherwise a daemon's parent can exit and hand it to
    /// PID 1, out of reach, and RESET fails rather than pass for clean.
    Descendants { subreaper: bool },
}

static SCOPE: OnceLock<Scope> = OnceLock::new();

/// Decides, once at start (after `become_subreaper`), which processes the agent kills: every
/// process of its PID namespace when it owns the namespace (`owns_pid_namespace`), else its
/// descendants. Logged once, so a sandbox's log says which rule its RESETs follow.
pub fn configure(is_init: bool) -> Scope {
    let scope = detect_scope(is_init);
    let _ = SCOPE.set(scope);
    let what = match scope {
        Scope::Namespace { .. } => "every process of the sandbox's PID namespace",
        Scope::Descendants { subreaper: true } => "its descendants (child subreaper)",
        Scope::Descendants { subreaper: false } => {
            "its descendants, but it is neither the sandbox's init nor a child subreaper: RESET fails"
        }
    };
    crate::log(&format!("RESET kills {what}"));
    scope
}

/// The scope `configure` chose; descendants (as the kernel's subreaper setting says) when it was
/// never called (the library in tests).
pub fn scope() -> Scope {
    *SCOPE.get_or_init(|| Scope::Descendants {
        subreaper: is_subreaper(),
    })
}

fn detect_scope(is_init: bool) -> Scope {
    let own_ns = pid_namespace_is_own();
    if is_init || owns_pid_namespace(own_ns) {
        return Scope::Namespace {
            broadcast: own_ns && !is_init,
        };
    }
    Scope::Descendants {
        subreaper: is_subreaper(),
    }
}

/// The agent is PID 1 (of a container, or a VM's init); or the only child of PID 1 (the engine's
/// minimal init, `docker run --init`) in a PID namespace other than the host's initial one, with
/// no other process in it when the agent starts. An agent started by hand or by a test next to
/// other processes kills only its descendants, and never signals the host's processes.
fn owns_pid_namespace(own_ns: bool) -> bool {
    // SAFETY: getpid and getppid cannot fail.
    let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
    if pid == 1 {
        return true;
    }
    if ppid != 1 || !own_ns {
        return false;
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    let others = dir.filter_map(|e| e.ok()).any(|e| {
        e.file_name()
            .to_str()
            .and_then(|s| s.parse::<libc::pid_t>().ok())
            .is_some_and(|p| p != 1 && p != pid)
    });
    !others
}

/// A PID namespace other than the kernel's initial one (`/proc/self/ns/pid`'s inode; gVisor has
/// the file too, with an inode of its own).
fn pid_namespace_is_own() -> bool {
    std::fs::metadata("/proc/self/ns/pid")
        .is_ok_and(|m| std::os::unix::fs::MetadataExt::ino(&m) != crate::reset::PROC_PID_INIT_INO)
}

/// One process as a /proc scan saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    pub ppid: libc::pid_t,
    /// Already dead (zombie `Z`, or `X`): nothing to kill, its parent reaps it.
    pub dead: bool,
    /// A kernel thread (PF_KTHREAD; a VM's kernel has them, no container's namespace shows one).
    pub kthread: bool,
}

/// PF_KTHREAD in the flags field of /proc/<pid>/stat (include/linux/sched.h).
const PF_KTHREAD: u64 = 0x0020_0000;

/// Parses one /proc/<pid>/stat line; None when it does not have the fields it should.
pub fn parse_stat(stat: &str) -> Option<ProcInfo> {
    // The command name may contain spaces and parentheses; fields resume after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut f = rest.split_whitespace();
    let state = f.next()?;
    let ppid = f.next()?.parse().ok()?;
    // pgrp, session, tty_nr, tpgid, then flags.
    let flags: u64 = f.nth(4)?.parse().ok()?;
    Some(ProcInfo {
        ppid,
        dead: state == "Z" || state == "X",
        kthread: flags & PF_KTHREAD != 0,
    })
}

/// Every process in /proc. A process that vanishes mid-scan is skipped; /proc that cannot be
/// listed, or a process whose stat cannot be read or parsed for another reason, is an error: a
/// scan that may have missed a process must not pass for one that found none.
fn scan() -> Result<HashMap<libc::pid_t, ProcInfo>, String> {
    let mut map = HashMap::new();
    let dir = std::fs::read_dir("/proc").map_err(|e| format!("cannot list /proc: {e}"))?;
    for entry in dir {
        let entry = entry.map_err(|e| format!("cannot list /proc: {e}"))?;
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat,
            // Gone since the listing (ESRCH under some kernels).
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ESRCH) =>
            {
                continue
            }
            Err(e) => return Err(format!("cannot read /proc/{pid}/stat: {e}")),
        };
        let info =
            parse_stat(&stat).ok_or_else(|| format!("cannot parse /proc/{pid}/stat: {stat:?}"))?;
        map.insert(pid, info);
    }
    Ok(map)
}

/// The live processes of a scan that `scope` says to kill, for the agent `me`: its descendants
/// (by parent links), or every process but `me`, its ancestors and kernel threads. Dead ones
/// (zombies) are left out: counting them again would loop forever.
pub fn targets(
    procs: &HashMap<libc::pid_t, ProcInfo>,
    me: libc::pid_t,
    scope: Scope,
) -> Vec<libc::pid_t> {
    let mut found = match scope {
        Scope::Namespace { .. } => {
            let mut spared = HashSet::from([me, 1]);
            let mut p = me;
            while let Some(info) = procs.get(&p) {
                if info.ppid <= 0 || !spared.insert(info.ppid) {
                    break;
                }
                p = info.ppid;
            }
            procs
                .iter()
                .filter(|(pid, info)| !spared.contains(pid) && !info.kthread)
                .map(|(&pid, _)| pid)
                .collect::<Vec<_>>()
        }
        Scope::Descendants { .. } => {
            let mut children: HashMap<libc::pid_t, Vec<libc::pid_t>> = HashMap::new();
            for (&pid, info) in procs {
                children.entry(info.ppid).or_default().push(pid);
            }
            let mut seen = HashSet::new();
            let mut stack = vec![me];
            let mut found = Vec::new();
            while let Some(p) = stack.pop() {
                for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
                    if c != me && seen.insert(c) {
                        found.push(c);
                        stack.push(c);
                    }
                }
            }
            found
        }
    };
    found.retain(|p| procs.get(p).is_some_and(|i| !i.dead));
    found.sort_unstable();
    found
}

/// Rounds of scan-and-kill before giving up.
const KILL_ROUNDS: usize = 50;

/// SIGKILLs every process of the invocations (`scope`), repeating until a full scan finds none
/// alive (a fork bomb racing the scan, a process mid-fork), and reaps what it can. Returns how
/// many distinct processes the scans found and signalled; an error when /proc could not be read,
/// some were still alive after every round, or the agent cannot find them all (descendants only,
/// and not a subreaper): the caller must then not take the sandbox for clean (RESET fails, and
/// the host destroys it).
pub fn kill_leftovers() -> Result<u64, String> {
    let me = std::process::id() as libc::pid_t;
    let scope = scope();
    let mut killed: HashSet<libc::pid_t> = HashSet::new();
    let mut left = Vec::new();
    for _ in 0..KILL_ROUNDS {
        let procs = scan()?;
        left = targets(&procs, me, scope);
        if let Scope::Namespace { broadcast: true } = scope {
            // Also reaches what this scan could not see (forked after the listing). Never the
            // caller's thread group, never PID 1; ESRCH when there was nobody to signal.
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(-1, libc::SIGKILL) };
        }
        if left.is_empty() {
            break;
        }
        for &p in &left {
            sys::kill_pid(p);
            killed.insert(p);
        }
        std::thread::sleep(Duration::from_millis(5));
        lock().reap_all();
    }
    lock().reap_all();
    if !left.is_empty() {
        // The last round's kills had only a moment: look once more before giving up.
        left = targets(&scan()?, me, scope);
    }
    if !left.is_empty() {
        return Err(format!(
            "{} processes still alive after {KILL_ROUNDS} rounds of SIGKILL (pids {:?})",
            left.len(),
            &left[..left.len().min(8)]
        ));
    }
    if let Scope::Descendants { subreaper: false } = scope {
        return Err(
            "the agent is neither its sandbox's init nor a child subreaper: a process \
                    that escaped with setsid went to PID 1, where it cannot be found"
                .into(),
        );
    }
    Ok(killed.len() as u64)
}
