//! The `--stdio` transport end to end: the agent binary answers on stdout, logs only on stderr,
//! keeps serving across requests, and exits cleanly when stdin closes.

use faas_guest_agent::protocol::{self, Frame, ReadOutcome};
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn serves_frames_on_stdio_and_exits_when_stdin_closes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faas-guest-agent"))
        .args(["--no-init", "--stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the agent");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let hello = Frame::Hello(faas_guest_agent::messages::Hello {
        protocol_versions: vec![protocol::PROTOCOL_VERSION],
    });
    for _ in 0..2 {
        stdin.write_all(&hello.encode()).expect("write HELLO");
        match protocol::read_frame(&mut stdout, 1 << 20).expect("read") {
            ReadOutcome::Frame(Frame::HelloOk(ok)) => {
                assert_eq!(ok.protocol_version, protocol::PROTOCOL_VERSION)
            }
            _ => panic!("expected HELLO_OK"),
        }
    }
    drop(stdin);
    assert!(matches!(
        protocol::read_frame(&mut stdout, 1 << 20).expect("read"),
        ReadOutcome::Eof
    ));
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "exit status {:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("serving stdio"), "stderr: {log}");
}
