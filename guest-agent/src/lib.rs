//! The agent as a library, so integration tests can drive the codec and the test vectors
//! through the same code the binary runs.

pub mod exec;
pub mod init;
pub mod messages;
pub mod procs;
pub mod protocol;
pub mod refresh;
pub mod reset;
pub mod serve;
pub mod sys;
pub mod transport;

/// Log lines go to stderr, which is the serial console when the agent is the VM's init.
pub fn log(msg: &str) {
    eprintln!("faas-guest-agent: {msg}");
}
