//! Test helper, never shipped: creates or counts the IPC objects a function could leave behind
//! for its next invocation in a reused sandbox. Tests copy it (built static) into a sandbox
//! through a command's stdin, so it needs nothing from the image.
//!
//!   ipc-objects create   one System V shared memory segment, message queue (holding a message)
//!                        and semaphore set, and the POSIX message queue /faas-probe
//!   ipc-objects count    prints `shm=N msg=N sem=N mq=N`: System V objects visible in this IPC
//!                        namespace, and 1 when /faas-probe exists
//!
//! Counting uses the *_STAT_ANY calls and mq_open, so it works without /proc/sysvipc or a mounted
//! /dev/mqueue (gVisor has neither).

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

/// Counts what exists now, as `shm=N msg=N sem=N mq=N`.
pub fn count() -> String {
    const SHM_INFO: libc::c_int = 14;
    const SHM_STAT_ANY: libc::c_int = 15;
    const MSG_INFO: libc::c_int = 12;
    const MSG_STAT_ANY: libc::c_int = 13;
    const SEM_INFO: libc::c_int = 19;
    const SEM_STAT_ANY: libc::c_int = 20;
    // SAFETY: the buffers are larger than any struct these commands write.
    unsafe {
        let mut buf = [0u64; 64];
        let p = buf.as_mut_ptr();
        let scan = |max: libc::c_int, stat: &dyn Fn(libc::c_int) -> libc::c_int| {
            (0..=max.min(1 << 16)).filter(|&i| stat(i) >= 0).count()
        };
        let shm = scan(libc::shmctl(0, SHM_INFO, p.cast()), &|i| {
            libc::shmctl(i, SHM_STAT_ANY, p.cast())
        });
        let msg = scan(libc::msgctl(0, MSG_INFO, p.cast()), &|i| {
            libc::msgctl(i, MSG_STAT_ANY, p.cast())
        });
        let sem = scan(libc::semctl(0, 0, SEM_INFO, p), &|i| {
            libc::semctl(i, 0, SEM_STAT_ANY, p)
        });
        let mq = libc::mq_open(MQ_NAME.as_ptr(), libc::O_RDONLY);
        let mq = if mq >= 0 {
            libc::mq_close(mq);
            1
        } else {
            0
        };
        format!("shm={shm} msg={msg} sem={sem} mq={mq}")
    }
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
