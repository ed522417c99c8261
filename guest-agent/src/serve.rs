//! One host connection: a strict request/response loop. The host speaks first (HELLO), so a
//! transport that drops bytes written before the host attached (virtio-serial) never loses a
//! reply. Malformed input gets an ERROR frame, never a panic; only framing errors, after which
//! the byte stream cannot be trusted to be in step, end the connection.

use crate::exec::{self, Outcome};
use crate::protocol::{
    self, error_frame, Empty, Frame, HelloOk, ReadOutcome, Reset, ResetOk, PROTOCOL_VERSION,
};
use crate::{procs, refresh, reset};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const CAPABILITIES: &[&str] = &[
    "exec",
    "reset",
    "shutdown",
    "uid_gid",
    "process_group_kill",
    "scratch_wipe",
    "refresh",
    "max_processes",
];
/// Advertised when RESET also empties /dev/shm, /dev/mqueue and System V IPC (`reset::owns_ipc`).
pub const IPC_RESET: &str = "ipc_reset";

/// What should happen after a connection ends.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    Shutdown,
}

/// Serves one connection: `conn` is read and written, and its descriptor is watched for a hang-up
/// while an EXEC runs.
pub fn serve<C: Read + Write + AsRawFd>(conn: &mut C, max_frame: u32) -> Next {
    let mut greeted = false;
    loop {
        let frame = match protocol::read_frame(conn, max_frame) {
            Ok(ReadOutcome::Frame(f)) => f,
            Ok(ReadOutcome::Eof) | Err(_) => return Next::Continue,
            Ok(ReadOutcome::Bad { err, fatal }) => {
                let sent = send(conn, &error_frame(err.code(), err.message()));
                if fatal || !sent {
                    return Next::Continue;
                }
                continue;
            }
        };
        let reply = match frame {
            Frame::Hello(h) => {
                if h.protocol_versions.contains(&PROTOCOL_VERSION) {
                    greeted = true;
                    hello_ok()
                } else {
                    error_frame(
                        "unsupported_version",
                        format!(
                            "agent {AGENT_VERSION} speaks protocol version {PROTOCOL_VERSION}; host offered {:?}",
                            h.protocol_versions
                        ),
                    )
                }
            }
            _ if !greeted && frame.frame_type() as u8 <= 0x7f => {
                error_frame("hello_required", "send HELLO before any other request")
            }
            Frame::Exec(req) => match exec::validate(&req) {
                Err(msg) => error_frame("invalid_request", msg),
                Ok(()) => match exec::run(&req, conn.as_raw_fd()) {
                    Outcome::Done(result) => Frame::ExecResult(result),
                    Outcome::HostGone => return Next::Continue,
                },
            },
            Frame::Reset(req) => reset(&req),
            Frame::Refresh(req) => match refresh::apply(&req) {
                Ok(()) => Frame::RefreshOk(Empty {}),
                Err(msg) => error_frame("refresh_failed", msg),
            },
            Frame::Shutdown(_) => {
                send(conn, &Frame::ShutdownOk(Empty {}));
                return Next::Shutdown;
            }
            other => error_frame(
                "unexpected_type",
                format!(
                    "frame type 0x{:02x} is not a request",
                    other.frame_type() as u8
                ),
            ),
        };
        if !send(conn, &reply) {
            return Next::Continue;
        }
    }
}

pub fn hello_ok() -> Frame {
    Frame::HelloOk(HelloOk {
        protocol_version: PROTOCOL_VERSION,
        agent_version: AGENT_VERSION.to_string(),
        capabilities: CAPABILITIES
            .iter()
            .copied()
            .chain(reset::owns_ipc().then_some(IPC_RESET))
            .map(str::to_string)
            .collect(),
    })
}

fn send(conn: &mut impl Write, frame: &Frame) -> bool {
    protocol::write_frame(conn, frame).is_ok()
}

/// Kills every process the invocations left (`procs::kill_leftovers`), then empties the scratch directory and, when they are the sandbox's
/// own, the IPC places (`reset.rs`). Every step runs even when an earlier one failed.
fn reset(req: &Reset) -> Frame {
    let (killed, mut failure) = match procs::kill_leftovers() {
        Ok(killed) => (killed, None),
        Err(msg) => (0, Some(format!("processes: {msg}"))),
    };
    if let Some(dir) = &req.scratch_dir {
        if let Err(msg) = reset::wipe(Path::new(dir)) {
            failure.get_or_insert(format!("scratch_dir: {msg}"));
        }
    }
    if reset::owns_ipc() {
        if let Err(msg) = reset::clear_ipc() {
            failure.get_or_insert(msg);
        }
    }
    match failure {
        Some(msg) => error_frame("reset_failed", msg),
        None => Frame::ResetOk(ResetOk { killed }),
    }
}
