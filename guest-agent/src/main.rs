//! faas-guest-agent: runs commands inside a sandbox on behalf of the host, over a small framed
//! protocol (docs/guest-agent-protocol.md). One static binary, started as the VM's init or as a
//! plain process in a container or test.

use faas_guest_agent::transport::{self, Transport};
use faas_guest_agent::{init, log, procs, protocol, reset, serve};
use std::sync::Arc;

const USAGE: &str = "\
faas-guest-agent: runs commands for the faas host over a framed protocol

usage: faas-guest-agent [--init | --no-init] [TRANSPORT] [--max-frame-bytes N]

transports (exactly one; as the VM's init the kernel command line may give it instead):
  --unix PATH          listen on a unix socket (containers, tests)
  --unix-mode MODE     octal permissions of the unix socket (default 0600)
  --vsock PORT         listen on AF_VSOCK, any CID (Firecracker)
  --serial PATH        serve a virtio-serial port (/dev/vport0p1, /dev/hvc1, or a port name)
  --stdio              serve frames on stdin/stdout for the life of the process (logs stay on
                       stderr; exits when stdin closes)

init mode (--init, or PID 1 with no /proc mounted): remounts / ro,nosuid,nodev, mounts /proc,
/sys, /dev, /dev/pts, /tmp, /dev/shm and /dev/mqueue, reaps orphans, powers off on SHUTDOWN.
Kernel command line settings:
  faas.transport=vsock:52 | serial:/dev/vport0p1 | serial:NAME   (default vsock:52)
  faas.tmp_mb=64       size of the /tmp and /dev/shm tmpfs in MiB (one inode per 4 KiB)
  faas.hostname=NAME   hostname (default sandbox)

  --version            print the agent and protocol versions
  --help               this text
";

struct Args {
    init: Option<bool>,
    transport: Option<Transport>,
    max_frame: u32,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        init: None,
        transport: None,
        max_frame: protocol::MAX_FRAME_BYTES,
    };
    let mut unix_mode = 0o600;
    let set = |t: Transport, slot: &mut Option<Transport>| {
        if slot.replace(t).is_some() {
            Err("give exactly one transport".to_string())
        } else {
            Ok(())
        }
    };
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--version" => {
                println!(
                    "faas-guest-agent {} protocol {}",
                    serve::AGENT_VERSION,
                    protocol::PROTOCOL_VERSION
                );
                return Ok(None);
            }
            "--init" => args.init = Some(true),
            "--no-init" => args.init = Some(false),
            "--unix" => {
                let path = value("--unix")?.into();
                set(Transport::Unix { path, mode: 0o600 }, &mut args.transport)?;
            }
            "--unix-mode" => {
                let v = value("--unix-mode")?;
                unix_mode = u32::from_str_radix(&v, 8)
                    .ok()
                    .filter(|m| *m <= 0o777)
                    .ok_or_else(|| format!("bad --unix-mode {v:?}"))?;
            }
            "--vsock" => {
                let v = value("--vsock")?;
                let port = v.parse().map_err(|_| format!("bad --vsock port {v:?}"))?;
                set(Transport::Vsock { port }, &mut args.transport)?;
            }
            "--serial" => {
                let path = value("--serial")?.into();
                set(Transport::Serial { path }, &mut args.transport)?;
            }
            "--stdio" => set(Transport::Stdio, &mut args.transport)?,
            "--max-frame-bytes" => {
                let v = value("--max-frame-bytes")?;
                args.max_frame = v
                    .parse()
                    .ok()
                    .filter(|n| (1024..=protocol::MAX_FRAME_BYTES).contains(n))
                    .ok_or_else(|| format!("bad --max-frame-bytes {v:?}"))?;
            }
            // As a VM's init, the kernel hands over command-line words it does not know itself
            // (`quiet`, `nomodule`, ...); they are not for us.
            other if std::process::id() == 1 && !other.starts_with('-') => {}
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if let Some(Transport::Unix { mode, .. }) = &mut args.transport {
        *mode = unix_mode;
    }
    Ok(Some(args))
}

fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => return,
        Err(e) => {
            log(&e);
            std::process::exit(2);
        }
    };
    let is_init = init::detect(args.init);
    if is_init {
        std::panic::set_hook(Box::new(|info| {
            log(&format!("fatal: {info}"));
            init::power_off();
        }));
    }
    let transport = if is_init {
        match init::setup() {
            Ok(cfg) => args
                .transport
                .or(cfg.transport)
                .unwrap_or(Transport::Vsock { port: 52 }),
            Err(e) => fatal(true, &e),
        }
    } else {
        match args.transport {
            Some(t) => t,
            None => fatal(false, "no transport given (see --help)"),
        }
    };
    if !is_init {
        procs::become_subreaper();
    }
    procs::configure(is_init);
    reset::configure(is_init);
    procs::start_reaper();
    let on_shutdown: transport::Shutdown = Arc::new(move || {
        if is_init {
            init::power_off();
        }
        std::process::exit(0);
    });
    match transport.run(args.max_frame, on_shutdown) {
        Err(e) => fatal(is_init, &format!("transport {transport:?}: {e}")),
        Ok(()) => fatal(is_init, "transport ended"),
    }
}

fn fatal(is_init: bool, msg: &str) -> ! {
    log(&format!("fatal: {msg}"));
    if is_init {
        init::power_off();
    }
    std::process::exit(1);
}
