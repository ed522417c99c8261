//! RESET between warm invocations: after every descendant is killed, nothing a command wrote may
//! be found by the next one. Besides the scratch directory the host names, a command can write
//! to the sandbox's shared-memory places: files in `/dev/shm`, POSIX message queues
//! (`/dev/mqueue`) and System V IPC objects (shared memory segments, message queues, semaphore
//! sets), which outlive their creator until removed. The agent empties all of them when they
//! belong to the sandbox alone (`owns_ipc`): as a VM's init the whole guest kernel is the
//! sandbox; in a container the agent is the sandbox's main process (PID 1, or the child of the
//! engine's minimal init) in a private IPC namespace. An agent started by hand on a host, in the
//! host's namespaces, must never empty the host's `/dev/shm` or remove its IPC objects.

use std::ffi::CString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;

/// `/proc/<pid>/ns/*` inode numbers of the kernel's initial namespaces (include/linux/proc_ns.h),
/// fixed since Linux 3.8: a process whose namespace has another inode is in a namespace of its
/// own (a container's).
const PROC_IPC_INIT_INO: u64 = 0xEFFF_FFFF;
pub(crate) const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;
/// statfs f_type of the mqueue filesystem (include/uapi/linux/magic.h).
const MQUEUE_MAGIC: i64 = 0x1980_0202;

pub const SHM_DIR: &str = "/dev/shm";
pub const MQUEUE_DIR: &str = "/dev/mqueue";

static OWNS_IPC: OnceLock<bool> = OnceLock::new();

/// Decides, once at start, whether RESET empties the IPC places (see the module comment).
pub fn configure(is_init: bool) {
    let owned = is_init || sandbox_main_process();
    let _ = OWNS_IPC.set(owned);
}

/// Whether RESET empties `/dev/shm`, `/dev/mqueue` and the System V IPC objects.
pub fn owns_ipc() -> bool {
    *OWNS_IPC.get_or_init(sandbox_main_process)
}

/// PID 1 or a child of PID 1 (`docker run --init`), in an IPC namespace that is not the host's
/// initial one. gVisor exposes no `/proc/self/ns/ipc`: there a PID namespace of its own says the
/// same (gVisor's kernel serves that container alone).
fn sandbox_main_process() -> bool {
    // SAFETY: getpid and getppid cannot fail.
    let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
    if pid != 1 && ppid != 1 {
        return false;
    }
    let ino = |ns: &str| std::fs::metadata(format!("/proc/self/ns/{ns}")).map(|m| m.ino());
    match ino("ipc") {
        Ok(i) => i != PROC_IPC_INIT_INO,
        Err(_) => ino("pid").is_ok_and(|i| i != PROC_PID_INIT_INO),
    }
}

/// What one RESET removed from the IPC places.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IpcCleared {
    pub shm_files: u64,
    pub mqueues: u64,
    pub sysv_shm: u64,
    pub sysv_msg: u64,
    pub sysv_sem: u64,
}

/// Empties `/dev/shm` (when it is a directory), `/dev/mqueue` (when an mqueue filesystem is
/// mounted there) and removes every System V IPC object of the agent's IPC namespace. Every step
/// runs even when an earlier one failed; the first failure is returned.
pub fn clear_ipc() -> Result<IpcCleared, String> {
    let mut done = IpcCleared::default();
    let mut errors = Vec::new();
    if std::fs::symlink_metadata(SHM_DIR).is_ok_and(|m| m.is_dir()) {
        match wipe(Path::new(SHM_DIR)) {
            Ok(n) => done.shm_files = n,
            Err(e) => errors.push(e),
        }
    }
    if is_mqueue(MQUEUE_DIR) {
        match wipe(Path::new(MQUEUE_DIR)) {
            Ok(n) => done.mqueues = n,
            Err(e) => errors.push(e),
        }
    }
    for kind in [SysV::Shm, SysV::Msg, SysV::Sem] {
        match remove_sysv(kind) {
            Ok(n) => match kind {
                SysV::Shm => done.sysv_shm = n,
                SysV::Msg => done.sysv_msg = n,
                SysV::Sem => done.sysv_sem = n,
            },
            Err(e) => errors.push(e),
        }
    }
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

fn is_mqueue(path: &str) -> bool {
    let Ok(c) = CString::new(path) else {
        return false;
    };
    // SAFETY: statfs is plain old data; the kernel fills it or fails.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == MQUEUE_MAGIC
    }
}

/// Empties a directory but keeps it (its mount and ownership stay) and returns how many entries
/// it removed. Symlinks inside are removed, never followed, so a function cannot make RESET
/// delete files outside the directory.
pub fn wipe(dir: &Path) -> Result<u64, String> {
    if !dir.is_absolute()
        || dir.parent().is_none()
        || dir.as_os_str().as_encoded_bytes().contains(&0)
    {
        return Err(format!("{dir:?} must be an absolute path other than /"));
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{dir:?}: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("{dir:?} is not a directory"));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{dir:?}: {e}"))?;
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{dir:?}: {e}"))?;
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let res = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match res {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(format!("cannot remove {path:?}: {e}"));
            }
            _ => removed += 1,
        }
    }
    Ok(removed)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysV {
    Shm,
    Msg,
    Sem,
}

impl SysV {
    fn name(self) -> &'static str {
        match self {
            SysV::Shm => "shm",
            SysV::Msg => "msg",
            SysV::Sem => "sem",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            SysV::Shm => "shmid",
            SysV::Msg => "msqid",
            SysV::Sem => "semid",
        }
    }

    /// IPC_RMID; Ok(false) when the object was already gone.
    fn rmid(self, id: libc::c_int) -> io::Result<bool> {
        // SAFETY: IPC_RMID takes no buffer (a null pointer is what the kernel expects).
        let r = unsafe {
            match self {
                SysV::Shm => libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                SysV::Msg => libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                SysV::Sem => libc::semctl(id, 0, libc::IPC_RMID),
            }
        };
        if r == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL) | Some(libc::EIDRM) => Ok(false),
            _ => Err(e),
        }
    }

    /// A new private object of this kind, owned by the agent (removed again by the caller).
    fn create_probe(self) -> io::Result<libc::c_int> {
        // SAFETY: plain System V calls with integer arguments.
        let id = unsafe {
            match self {
                SysV::Shm => libc::shmget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600),
                SysV::Msg => libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600),
                SysV::Sem => libc::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600),
            }
        };
        if id < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(id)
        }
    }

    /// Owner and creator uid by IPC_STAT; None when the object is gone or not readable.
    fn owners(self, id: libc::c_int) -> Option<(libc::uid_t, libc::uid_t)> {
        // SAFETY: each *_ds is plain old data the kernel fills for IPC_STAT.
        unsafe {
            match self {
                SysV::Shm => {
                    let mut ds: libc::shmid_ds = std::mem::zeroed();
                    (libc::shmctl(id, libc::IPC_STAT, &mut ds) == 0)
                        .then_some((ds.shm_perm.uid, ds.shm_perm.cuid))
                }
                SysV::Msg => {
                    let mut ds: libc::msqid_ds = std::mem::zeroed();
                    (libc::msgctl(id, libc::IPC_STAT, &mut ds) == 0)
                        .then_some((ds.msg_perm.uid, ds.msg_perm.cuid))
                }
                SysV::Sem => {
                    let mut ds: libc::semid_ds = std::mem::zeroed();
                    (libc::semctl(id, 0, libc::IPC_STAT, &mut ds as *mut libc::semid_ds) == 0)
                        .then_some((ds.sem_perm.uid, ds.sem_perm.cuid))
                }
            }
        }
    }

    /// Whether an object with this id exists: IPC_STAT fails with EINVAL (or EIDRM) only when
    /// there is none; EACCES means it exists but is not readable.
    fn exists(self, id: libc::c_int) -> bool {
        if self.owners(id).is_some() {
            return true;
        }
        !matches!(
            io::Error::last_os_error().raw_os_error(),
            Some(libc::EINVAL) | Some(libc::EIDRM)
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One System V object: id, owner uid and creator uid (either may remove it).
#[derive(Debug, PartialEq, Eq)]
pub struct SysVObject {
    pub id: libc::c_int,
    pub uid: libc::uid_t,
    pub cuid: libc::uid_t,
}

/// Parses `/proc/sysvipc/{shm,msg,sem}`: a header line naming the columns, one object per line.
pub fn parse_sysvipc(text: &str, id_column: &str) -> Vec<SysVObject> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let cols: Vec<&str> = header.split_whitespace().collect();
    let find = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(i_id), Some(i_uid), Some(i_cuid)) = (find(id_column), find("uid"), find("cuid"))
    else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some(SysVObject {
                id: f.get(i_id)?.parse().ok()?,
                uid: f.get(i_uid)?.parse().ok()?,
                cuid: f.get(i_cuid)?.parse().ok()?,
            })
        })
        .collect()
}

/// Removes every object of one kind: listed by /proc/sysvipc where the kernel has it, else
/// found by scanning ids (`remove_sysv_by_scan`).
fn remove_sysv(kind: SysV) -> Result<u64, String> {
    let path = format!("/proc/sysvipc/{}", kind.name());
    if std::fs::metadata(&path).is_err() {
        return remove_sysv_by_scan(kind);
    }
    let mut removed = 0;
    // A second pass catches objects created while the list was read (nothing should run now).
    for _ in 0..3 {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let objects = parse_sysvipc(&text, kind.id_column());
        if objects.is_empty() {
            break;
        }
        for obj in &objects {
            removed += u64::from(remove_one(kind, obj.id, &[obj.uid, obj.cuid])?);
        }
    }
    Ok(removed)
}

/// Ids handed out since the last RESET are scanned, at most this many at once; more and RESET
/// fails (the host then destroys the sandbox instead of reusing it).
const MAX_SCAN_IDS: i64 = 1 << 20;

/// Where /proc/sysvipc is missing (gVisor), the objects cannot be listed, and the *_INFO and
/// *_STAT calls do not enumerate them either. gVisor hands out ids of each kind in increasing
/// order (the last one used plus one), so a private object created now gets an id above every
/// existing one; every object that existed at the previous RESET was removed then, so only the
/// ids between the previous probe and this one can be in use.
fn remove_sysv_by_scan(kind: SysV) -> Result<u64, String> {
    static LAST_PROBE: std::sync::Mutex<[i64; 3]> = std::sync::Mutex::new([-1; 3]);
    let mut last = LAST_PROBE.lock().unwrap_or_else(|p| p.into_inner());
    let probe = kind
        .create_probe()
        .map_err(|e| format!("cannot create a System V {} to scan ids: {e}", kind.name()))?;
    let _ = kind.rmid(probe);
    let from = last[kind.index()] + 1;
    let to = i64::from(probe);
    if to < from || to - from > MAX_SCAN_IDS {
        // Ids wrapped around, or too many to scan: cannot vouch for the namespace being empty.
        return Err(format!(
            "System V {} ids jumped from {from} to {to}: not scanned",
            kind.name()
        ));
    }
    let uids = command_uids();
    let mut removed = 0;
    for id in from..to {
        let id = id as libc::c_int;
        if !kind.exists(id) {
            continue;
        }
        // gVisor answers IPC_RMID from a uid that is neither owner nor creator with success and
        // leaves the object (a semaphore set then cannot be removed at all), so the owner is
        // found first (IPC_STAT, as root or as a uid commands ran as) and asked first, and
        // every attempt is checked.
        let owner = kind.owners(id).or_else(|| {
            uids.iter()
                .find_map(|&u| as_euid(u, || Ok(kind.owners(id))).ok().flatten())
        });
        let mut candidates: Vec<libc::uid_t> = owner.map(|(u, c)| vec![u, c]).unwrap_or_default();
        candidates.extend(&uids);
        candidates.push(0);
        let mut tried = Vec::new();
        for uid in candidates {
            if tried.contains(&uid) {
                continue;
            }
            tried.push(uid);
            let _ = as_euid(uid, || kind.rmid(id));
            if !kind.exists(id) {
                removed += 1;
                break;
            }
        }
        if kind.exists(id) {
            return Err(format!(
                "cannot remove System V {} {id} (tried uids {tried:?})",
                kind.name()
            ));
        }
    }
    last[kind.index()] = to;
    Ok(removed)
}

/// IPC_RMID of one object; Ok(false) when it was already gone. The agent in a container is root
/// without CAP_SYS_ADMIN, and IPC_RMID wants the caller's effective uid to be the object's owner
/// or creator: on EPERM it takes each candidate uid for this thread only (`as_euid`) in turn.
fn remove_one(kind: SysV, id: libc::c_int, owners: &[libc::uid_t]) -> Result<bool, String> {
    let mut res = kind.rmid(id);
    for &uid in owners {
        match &res {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => res = as_euid(uid, || kind.rmid(id)),
            _ => break,
        }
    }
    res.map_err(|e| format!("cannot remove System V {} {id}: {e}", kind.name()))
}

/// The uids commands ran as (EXEC `uid`, else the agent's own): the owners that objects found
/// without /proc/sysvipc most likely have.
fn command_uids() -> Vec<libc::uid_t> {
    let mut uids: Vec<libc::uid_t> = COMMAND_UIDS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .copied()
        .collect();
    uids.sort_unstable();
    uids
}

static COMMAND_UIDS: std::sync::Mutex<Vec<libc::uid_t>> = std::sync::Mutex::new(Vec::new());

/// Called by EXEC with the uid a command runs as.
pub fn note_command_uid(uid: Option<u32>) {
    // SAFETY: geteuid cannot fail.
    let uid = uid.unwrap_or_else(|| unsafe { libc::geteuid() });
    let mut uids = COMMAND_UIDS.lock().unwrap_or_else(|p| p.into_inner());
    if !uids.contains(&uid) && uids.len() < 64 {
        uids.push(uid);
    }
}

/// Runs `f` with this thread's effective uid set to `uid`, then restores it. The raw system call
/// changes only the calling thread (glibc's setresuid would change every thread). The real and
/// saved uids stay 0, so the capabilities come back with euid 0.
fn as_euid<T>(uid: libc::uid_t, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    // SAFETY: geteuid cannot fail.
    let old = unsafe { libc::geteuid() };
    if old != 0 || uid == old {
        return f();
    }
    // -1 leaves a uid unchanged.
    let keep = libc::uid_t::MAX;
    // SAFETY: setresuid takes integers only.
    if unsafe { libc::syscall(libc::SYS_setresuid, keep, uid, keep) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let out = f();
    // SAFETY: as above; going back to euid 0 is allowed because the saved uid is 0.
    if unsafe { libc::syscall(libc::SYS_setresuid, keep, old, keep) } != 0 {
        // A thread that cannot get its identity back must not serve anything else.
        crate::log("cannot restore the agent's effective uid after IPC_RMID");
        std::process::abort();
    }
    out
}
