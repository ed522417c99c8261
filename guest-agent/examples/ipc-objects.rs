//! Test helper, never shipped: creates or counts the IPC objects a function could leave behind
//! for its next invocation in a reused sandbox. Tests copy it (built static) into a sandbox
//! through a command's stdin, so it needs nothing from the image.
//!
//!   ipc-objects create   one System V shared memory segment, message queue (holding a message)
//!                        and semaphore set, and the POSIX message queue /faas-probe
//!   ipc-objects count    prints `shm=N msg=N sem=N mq=N`: System V objects of this IPC namespace
//!                        (by /proc/sysvipc; where that is missing, as under gVisor, 1 when the
//!                        object with the helper's key exists), and 1 when /faas-probe exists
//!                        (by mq_open, so no mounted /dev/mqueue is needed)

use std::ffi::CStr;

pub const KEY: libc::key_t = 0x4641_4153;
pub const MQ_NAME: &CStr = c"/faas-probe";

fn last_error() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// Creates the objects; returns a line describing them, or what failed.
pub fn create() -> Result<String, String> {
    // SAFETY: plain System V and POSIX IPC calls on local, valid buffers.
    unsafe {
        let shm = libc::shmget(KEY, 4096, libc::IPC_CREAT | 0o600);
        if shm < 0 {
            return Err(format!("shmget: {}", last_error()));
        }
        let msg = libc::msgget(KEY, libc::IPC_CREAT | 0o600);
        if msg < 0 {
            return Err(format!("msgget: {}", last_error()));
        }
        #[repr(C)]
        struct Message {
            mtype: libc::c_long,
            text: [u8; 8],
        }
        let m = Message {
            mtype: 1,
            text: *b"leftover",
        };
        if libc::msgsnd(msg, (&m as *const Message).cast(), 8, libc::IPC_NOWAIT) != 0 {
            return Err(format!("msgsnd: {}", last_error()));
        }
        let sem = libc::semget(KEY, 1, libc::IPC_CREAT | 0o600);
        if sem < 0 {
            return Err(format!("semget: {}", last_error()));
        }
        let mq = libc::mq_open(
            MQ_NAME.as_ptr(),
            libc::O_CREAT | libc::O_RDWR,
            0o600 as libc::c_uint,
            std::ptr::null_mut::<libc::mq_attr>(),
        );
        let mq = if mq < 0 {
            format!("error {}", last_error())
        } else {
            libc::mq_close(mq);
            "/faas-probe".to_string()
        };
        Ok(format!("shm={shm} msg={msg} sem={sem} mq={mq}"))
    }
}

/// Counts what exists now, as `shm=N msg=N sem=N mq=N`: the rows of /proc/sysvipc where the
/// kernel has it, else (gVisor) whether the object with this helper's key still exists.
pub fn count() -> String {
    // SAFETY: lookups by key without IPC_CREAT, and mq_open without O_CREAT: nothing is created.
    let by_key = |kind: &str| unsafe {
        let id = match kind {
            "shm" => libc::shmget(KEY, 0, 0),
            "msg" => libc::msgget(KEY, 0),
            _ => libc::semget(KEY, 0, 0),
        };
        usize::from(id >= 0)
    };
    let sysv = |kind: &str| match std::fs::read_to_string(format!("/proc/sysvipc/{kind}")) {
        Ok(text) => text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count(),
        Err(_) => by_key(kind),
    };
    // SAFETY: as above.
    let mq = unsafe {
        let mq = libc::mq_open(MQ_NAME.as_ptr(), libc::O_RDONLY);
        if mq >= 0 {
            libc::mq_close(mq);
        }
        usize::from(mq >= 0)
    };
    format!(
        "shm={} msg={} sem={} mq={mq}",
        sysv("shm"),
        sysv("msg"),
        sysv("sem")
    )
}

#[allow(dead_code)]
fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("create") => match create() {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("ipc-objects: {e}");
                std::process::exit(1);
            }
        },
        Some("count") => println!("{}", count()),
        _ => {
            eprintln!("usage: ipc-objects create|count");
            std::process::exit(2);
        }
    }
}
