//! Process bookkeeping: one lock serialises every waitpid in the agent. The agent is PID 1 (in a
//! VM, or in a container) or a child subreaper, so orphans of the commands it runs become its
//! children and must be reaped; a blind `waitpid(-1)` would also steal the exit status of the
//! command an EXEC is waiting for, and std's `spawn` reaps a child whose exec failed. Holding the
//! lock across spawn and across the reaper's `waitpid(-1)` calls makes both safe.

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

/// Asks the kernel to hand orphaned descendants to the agent (it is not PID 1 outside a VM),
/// so RESET can find processes that escaped their group with setsid and double forks.
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Parent pid of every process, from /proc. A process that vanishes mid-scan is skipped; /proc
/// that cannot be listed, or a process whose stat cannot be read for another reason, is an error:
/// a scan that may have missed a process must not pass for one that found none.
fn parent_map() -> Result<HashMap<libc::pid_t, libc::pid_t>, String> {
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
        // The command name may contain spaces and parentheses; fields resume after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
            map.insert(pid, ppid);
        }
    }
    Ok(map)
}

/// SIGKILLs every descendant of the agent, repeating while new ones keep appearing (a fork bomb
/// racing the scan), and reaps what it can. Returns how many distinct processes were signalled;
/// an error when /proc could not be read, or descendants were still alive after every round: the
/// caller must then not take the sandbox for clean (RESET fails, and the host destroys it).
pub fn kill_descendants() -> Result<u64, String> {
    let me = std::process::id() as libc::pid_t;
    let mut killed: HashSet<libc::pid_t> = HashSet::new();
    let mut left = 0;
    for _ in 0..50 {
        let parents = parent_map()?;
        let mut children: HashMap<libc::pid_t, Vec<libc::pid_t>> = HashMap::new();
        for (&pid, &ppid) in &parents {
            children.entry(ppid).or_default().push(pid);
        }
        let mut stack = vec![me];
        let mut found = Vec::new();
        while let Some(p) = stack.pop() {
            for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
                if c != me && !found.contains(&c) {
                    found.push(c);
                    stack.push(c);
                }
            }
        }
        // Zombies are already dead; counting them again would loop forever.
        found.retain(|&p| !is_zombie(p));
        left = found.len();
        if found.is_empty() {
            break;
        }
        for &p in &found {
            sys::kill_pid(p);
            killed.insert(p);
        }
        std::thread::sleep(Duration::from_millis(5));
        lock().reap_all();
    }
    lock().reap_all();
    if left > 0 {
        return Err(format!(
            "{left} descendant processes still alive after 50 rounds of SIGKILL"
        ));
    }
    Ok(killed.len() as u64)
}

fn is_zombie(pid: libc::pid_t) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|s| s == "Z" || s == "X"),
        Err(_) => true,
    }
}
