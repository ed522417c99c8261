//! Wire format shared with the host (docs/guest-agent-protocol.md is the normative text and
//! common/test-vectors/agent-protocol.json pins the exact bytes). Every frame is
//! `u32 BE body length | u8 type | body`, and every body is a compact JSON object whose binary
//! fields are strict, padded base64. JSON keeps both implementations small and debuggable; the
//! length prefix lets a reader reject an oversize frame before it buffers a single body byte.

pub use crate::messages::*;
use std::io::{self, Read, Write};

/// Version of the frame layout and message schemas; bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;
/// Bytes before the body: 4 length bytes and 1 type byte.
pub const HEADER_LEN: usize = 5;
/// Largest body either side accepts unless configured lower; the length field is checked against
/// it before any body byte is read.
pub const MAX_FRAME_BYTES: u32 = 64 * 1024 * 1024;
/// Largest per-stream output cap an EXEC may ask for, so that the worst-case EXEC_RESULT
/// (stdout + stderr + combined, base64) still fits in one frame.
pub const MAX_OUTPUT_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameType {
    Hello = 0x01,
    Exec = 0x02,
    Reset = 0x03,
    Shutdown = 0x04,
    // 0x05 stays unassigned: the shared vectors pin it as an unknown type.
    Refresh = 0x06,
    HelloOk = 0x81,
    ExecResult = 0x82,
    ResetOk = 0x83,
    ShutdownOk = 0x84,
    RefreshOk = 0x86,
    Error = 0xff,
}

impl FrameType {
    pub fn from_byte(b: u8) -> Option<FrameType> {
        Some(match b {
            0x01 => FrameType::Hello,
            0x02 => FrameType::Exec,
            0x03 => FrameType::Reset,
            0x04 => FrameType::Shutdown,
            0x06 => FrameType::Refresh,
            0x81 => FrameType::HelloOk,
            0x82 => FrameType::ExecResult,
            0x83 => FrameType::ResetOk,
            0x84 => FrameType::ShutdownOk,
            0x86 => FrameType::RefreshOk,
            0xff => FrameType::Error,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Hello(Hello),
    Exec(Exec),
    Reset(Reset),
    Shutdown(Empty),
    Refresh(Refresh),
    HelloOk(HelloOk),
    ExecResult(ExecResult),
    ResetOk(ResetOk),
    ShutdownOk(Empty),
    RefreshOk(Empty),
    Error(ErrorBody),
}

/// Why a frame could not be decoded; `code()` is the string used in ERROR frames and vectors.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    FrameTooLarge(u32),
    UnknownType(u8),
    InvalidBody(String),
    Truncated,
}

impl DecodeError {
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::FrameTooLarge(_) => "frame_too_large",
            DecodeError::UnknownType(_) => "unknown_type",
            DecodeError::InvalidBody(_) => "invalid_body",
            DecodeError::Truncated => "truncated",
        }
    }

    pub fn message(&self) -> String {
        match self {
            DecodeError::FrameTooLarge(n) => format!("frame body of {n} bytes exceeds the limit"),
            DecodeError::UnknownType(t) => format!("unknown frame type 0x{t:02x}"),
            DecodeError::InvalidBody(e) => format!("invalid frame body: {e}"),
            DecodeError::Truncated => "stream ended inside a frame".to_string(),
        }
    }
}

impl Frame {
    pub fn frame_type(&self) -> FrameType {
        match self {
            Frame::Hello(_) => FrameType::Hello,
            Frame::Exec(_) => FrameType::Exec,
            Frame::Reset(_) => FrameType::Reset,
            Frame::Shutdown(_) => FrameType::Shutdown,
            Frame::Refresh(_) => FrameType::Refresh,
            Frame::HelloOk(_) => FrameType::HelloOk,
            Frame::ExecResult(_) => FrameType::ExecResult,
            Frame::ResetOk(_) => FrameType::ResetOk,
            Frame::ShutdownOk(_) => FrameType::ShutdownOk,
            Frame::RefreshOk(_) => FrameType::RefreshOk,
            Frame::Error(_) => FrameType::Error,
        }
    }

    fn body_json(&self) -> Vec<u8> {
        let out = match self {
            Frame::Hello(b) => serde_json::to_vec(b),
            Frame::Exec(b) => serde_json::to_vec(b),
            Frame::Reset(b) => serde_json::to_vec(b),
            Frame::Shutdown(b) | Frame::ShutdownOk(b) | Frame::RefreshOk(b) => {
                serde_json::to_vec(b)
            }
            Frame::Refresh(b) => serde_json::to_vec(b),
            Frame::HelloOk(b) => serde_json::to_vec(b),
            Frame::ExecResult(b) => serde_json::to_vec(b),
            Frame::ResetOk(b) => serde_json::to_vec(b),
            Frame::Error(b) => serde_json::to_vec(b),
        };
        // Serializing these plain structs to a Vec cannot fail.
        out.unwrap_or_else(|_| b"{}".to_vec())
    }

    pub fn encode(&self) -> Vec<u8> {
        let body = self.body_json();
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.push(self.frame_type() as u8);
        out.extend_from_slice(&body);
        out
    }

    pub fn decode_body(t: FrameType, body: &[u8]) -> Result<Frame, DecodeError> {
        fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
            // serde also accepts a struct written as a JSON array; the protocol allows objects only.
            if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(DecodeError::InvalidBody(
                    "body must be a JSON object".into(),
                ));
            }
            serde_json::from_slice(body).map_err(|e| DecodeError::InvalidBody(e.to_string()))
        }
        Ok(match t {
            FrameType::Hello => Frame::Hello(parse(body)?),
            FrameType::Exec => Frame::Exec(parse(body)?),
            FrameType::Reset => Frame::Reset(parse(body)?),
            FrameType::Shutdown => Frame::Shutdown(parse(body)?),
            FrameType::Refresh => Frame::Refresh(parse(body)?),
            FrameType::HelloOk => Frame::HelloOk(parse(body)?),
            FrameType::ExecResult => Frame::ExecResult(parse(body)?),
            FrameType::ResetOk => Frame::ResetOk(parse(body)?),
            FrameType::ShutdownOk => Frame::ShutdownOk(parse(body)?),
            FrameType::RefreshOk => Frame::RefreshOk(parse(body)?),
            FrameType::Error => Frame::Error(parse(body)?),
        })
    }

    /// Decodes exactly one frame from a complete buffer (used by tests and vectors).
    pub fn decode(buf: &[u8], max: u32) -> Result<Frame, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        let (len, t) = parse_header(buf[..HEADER_LEN].try_into().unwrap_or([0; 5]), max)?;
        let body = &buf[HEADER_LEN..];
        if body.len() < len as usize {
            return Err(DecodeError::Truncated);
        }
        if body.len() > len as usize {
            return Err(DecodeError::InvalidBody(
                "trailing bytes after frame".into(),
            ));
        }
        match t {
            Some(t) => Frame::decode_body(t, body),
            None => Err(DecodeError::UnknownType(buf[4])),
        }
    }
}

/// Checks the length before the type so that an oversize frame is refused even when its type is
/// also unknown: the reader cannot skip a body it will not buffer.
fn parse_header(h: [u8; HEADER_LEN], max: u32) -> Result<(u32, Option<FrameType>), DecodeError> {
    let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    if len > max {
        return Err(DecodeError::FrameTooLarge(len));
    }
    Ok((len, FrameType::from_byte(h[4])))
}

/// Outcome of reading one frame from a stream.
pub enum ReadOutcome {
    Frame(Frame),
    /// Clean end of stream between frames.
    Eof,
    /// A decode error; `fatal` means the stream position is lost and the connection must close.
    Bad {
        err: DecodeError,
        fatal: bool,
    },
}

/// Reads one frame. Unknown types and bad bodies are skipped whole, so the connection stays in
/// sync and can go on; an oversize length or a short read cannot be resynchronised.
pub fn read_frame(r: &mut impl Read, max: u32) -> io::Result<ReadOutcome> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(ReadOutcome::Eof),
            Ok(0) => return Ok(bad(DecodeError::Truncated, true)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let (len, t) = match parse_header(header, max) {
        Ok(v) => v,
        Err(err) => return Ok(bad(err, true)),
    };
    let mut body = vec![0u8; len as usize];
    if let Err(e) = r.read_exact(&mut body) {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return Ok(bad(DecodeError::Truncated, true));
        }
        return Err(e);
    }
    Ok(match t {
        None => bad(DecodeError::UnknownType(header[4]), false),
        Some(t) => match Frame::decode_body(t, &body) {
            Ok(f) => ReadOutcome::Frame(f),
            Err(err) => bad(err, false),
        },
    })
}

fn bad(err: DecodeError, fatal: bool) -> ReadOutcome {
    ReadOutcome::Bad { err, fatal }
}

pub fn write_frame(w: &mut impl Write, frame: &Frame) -> io::Result<()> {
    w.write_all(&frame.encode())?;
    w.flush()
}

pub fn error_frame(code: &str, message: impl Into<String>) -> Frame {
    Frame::Error(ErrorBody {
        code: code.to_string(),
        message: clip(message.into()),
    })
}

/// Longest message the agent sends; the host refuses guest text beyond 4096 characters, and an
/// error that quotes a huge argument must still arrive as an error.
pub const MAX_MESSAGE_BYTES: usize = 1024;

pub fn clip(mut s: String) -> String {
    if s.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES - 3;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}
