//! The four ways a host reaches the agent. Every transport ends up as a plain file descriptor
//! handed to `serve`, so the request loop knows nothing about sockets or devices.

use crate::serve::{self, Next};
use crate::{log, procs, sys};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Ends the agent after a SHUTDOWN: powers the VM off, or removes the socket and exits.
pub type Shutdown = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    Unix {
        path: PathBuf,
        mode: u32,
    },
    Vsock {
        port: u32,
    },
    Serial {
        path: PathBuf,
    },
    /// Frames on fd 0 (requests) and fd 1 (answers) for the life of the process: containers
    /// whose sockets the host cannot see (gVisor), reached over the engine's attach stream.
    Stdio,
}

impl Transport {
    /// Parses the kernel command line form: `vsock:52`, `serial:/dev/vport0p1`, `serial:NAME`
    /// (a virtio-serial port name), `unix:/run/agent.sock`. (`--stdio` is a command-line flag only.)
    pub fn parse(spec: &str) -> Result<Transport, String> {
        let (kind, arg) = spec
            .split_once(':')
            .ok_or_else(|| format!("bad transport {spec:?}"))?;
        match kind {
            "vsock" => arg
                .parse()
                .map(|port| Transport::Vsock { port })
                .map_err(|_| format!("bad vsock port {arg:?}")),
            "serial" if !arg.is_empty() => Ok(Transport::Serial { path: arg.into() }),
            "unix" if !arg.is_empty() => Ok(Transport::Unix {
                path: arg.into(),
                mode: 0o600,
            }),
            _ => Err(format!("bad transport {spec:?}")),
        }
    }

    /// Serves until SHUTDOWN (then calls `on_shutdown`) or a fatal transport error.
    pub fn run(&self, max_frame: u32, on_shutdown: Shutdown) -> io::Result<()> {
        match self {
            Transport::Unix { path, mode } => run_unix(path, *mode, max_frame, on_shutdown),
            Transport::Vsock { port } => run_vsock(*port, max_frame, on_shutdown),
            Transport::Serial { path } => run_serial(path, max_frame, on_shutdown),
            Transport::Stdio => run_stdio(max_frame, on_shutdown),
        }
    }
}

fn run_unix(path: &Path, mode: u32, max_frame: u32, on_shutdown: Shutdown) -> io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        std::fs::remove_file(path)?; // a socket left by an earlier run
    }
    // A restrictive umask during bind closes the window in which the socket is wider than `mode`.
    // SAFETY: umask only swaps the process file-creation mask.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    let listener = listener?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    log(&format!("listening on unix:{}", path.display()));
    let owned = path.to_path_buf();
    let on_shutdown: Shutdown = Arc::new(move || {
        let _ = std::fs::remove_file(&owned);
        on_shutdown();
    });
    let result = accept_loop(
        || listener.accept().map(|(s, _)| File::from(OwnedFd::from(s))),
        max_frame,
        on_shutdown,
    );
    let _ = std::fs::remove_file(path);
    result
}

fn run_vsock(port: u32, max_frame: u32, on_shutdown: Shutdown) -> io::Result<()> {
    // SAFETY: socket/bind/listen on a descriptor we own; sockaddr_vm is plain data.
    let listener = unsafe {
        let fd = sys::cvt(libc::socket(
            libc::AF_VSOCK,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
        ))?;
        let fd = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_vm = std::mem::zeroed();
        addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
        addr.svm_port = port;
        addr.svm_cid = libc::VMADDR_CID_ANY;
        let len = std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t;
        sys::cvt(libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_vm).cast(),
            len,
        ))?;
        sys::cvt(libc::listen(fd.as_raw_fd(), 16))?;
        fd
    };
    log(&format!("listening on vsock:{port}"));
    accept_loop(
        || loop {
            // SAFETY: accept4 with null address pointers on our listening socket.
            let r = unsafe {
                libc::accept4(
                    listener.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC,
                )
            };
            if r >= 0 {
                // SAFETY: r is a fresh descriptor returned by accept4.
                return Ok(File::from(unsafe { OwnedFd::from_raw_fd(r) }));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        },
        max_frame,
        on_shutdown,
    )
}

/// Most connections served at once; more are closed at once. The host normally holds one, but a
/// new connection must not wait for a stale one the host has not yet closed.
const MAX_CONNECTIONS: usize = 16;

/// Serves each connection on its own thread. SHUTDOWN from any of them ends the agent through
/// `on_shutdown`, which never returns.
fn accept_loop(
    mut accept: impl FnMut() -> io::Result<File>,
    max_frame: u32,
    on_shutdown: Shutdown,
) -> io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let mut conn = match accept() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM)
                ) =>
            {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(e),
        };
        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            log("too many connections; closing the newest");
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (active, on_shutdown) = (active.clone(), on_shutdown.clone());
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || {
                let next = serve::serve(&mut conn, max_frame);
                drop(conn);
                active.fetch_sub(1, Ordering::SeqCst);
                if next == Next::Shutdown {
                    on_shutdown();
                }
            });
        if let Err(e) = spawned {
            log(&format!("cannot start a connection thread: {e}"));
        }
    }
}

/// The standard descriptors as one connection: requests are read from `input` (fd 0), answers
/// written to `output` (fd 1). A hang-up of `input` is the host going away.
struct StdioConn {
    input: File,
    output: File,
}

impl Read for StdioConn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for StdioConn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.output.flush()
    }
}

impl AsRawFd for StdioConn {
    fn as_raw_fd(&self) -> RawFd {
        self.input.as_raw_fd()
    }
}

/// One session on stdin/stdout for the life of the process. The frame stream moves to private
/// descriptors first; fd 1 then points at stderr and fd 0 at /dev/null, so that a stray write to
/// stdout can never corrupt a frame. Ends the agent (through `on_shutdown`) after SHUTDOWN or when
/// stdin closes, killing whatever commands are still running.
fn run_stdio(max_frame: u32, on_shutdown: Shutdown) -> io::Result<()> {
    let null = File::open("/dev/null")?;
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) returns fresh descriptors we own; dup2 only repoints 0 and 1.
    let mut conn = unsafe {
        let input = sys::cvt(libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3))?;
        let input = File::from(OwnedFd::from_raw_fd(input));
        let output = sys::cvt(libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3))?;
        let output = File::from(OwnedFd::from_raw_fd(output));
        sys::cvt(libc::dup2(2, 1))?;
        sys::cvt(libc::dup2(null.as_raw_fd(), 0))?;
        StdioConn { input, output }
    };
    drop(null);
    log("serving stdio");
    let next = serve::serve(&mut conn, max_frame);
    if next == Next::Continue {
        log("stdin closed; exiting");
    }
    // The agent exits next, and the sandbox with it: what could not be killed goes with it.
    let _ = procs::kill_leftovers();
    drop(conn);
    on_shutdown();
    Ok(())
}

/// A virtio-serial port is one long-lived device, not a listener: the host side attaches and
/// detaches. While detached, reads return EOF and poll reports POLLHUP, so we wait for readable
/// data (the host always speaks first) and serve until the next detach.
fn run_serial(path: &Path, max_frame: u32, on_shutdown: Shutdown) -> io::Result<()> {
    let device = resolve_serial(path, Duration::from_secs(10))?;
    let port = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&device)?;
    sys::make_raw_if_tty(&port)?;
    log(&format!("serving serial port {}", device.display()));
    loop {
        let mut fds = [sys::pollfd(port.as_raw_fd(), libc::POLLIN)];
        sys::poll(&mut fds, Some(Duration::from_secs(1)))?;
        if fds[0].revents & libc::POLLIN == 0 {
            if fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
            continue;
        }
        let mut conn = port.try_clone()?;
        if serve::serve(&mut conn, max_frame) == Next::Shutdown {
            on_shutdown();
            return Ok(());
        }
    }
}

/// Without udev there are no /dev/virtio-ports/NAME links, so names are looked up in sysfs.
/// The port may appear a moment after boot (a module loading), hence the bounded wait.
fn resolve_serial(path: &Path, wait: Duration) -> io::Result<PathBuf> {
    let name = match path.strip_prefix("/dev/virtio-ports/") {
        Ok(n) => n.to_string_lossy().into_owned(),
        Err(_) if path.is_absolute() => String::new(),
        Err(_) => path.to_string_lossy().into_owned(),
    };
    let until = Instant::now() + wait;
    loop {
        if path.is_absolute() && path.exists() {
            return Ok(path.to_path_buf());
        }
        if !name.is_empty() {
            for entry in std::fs::read_dir("/sys/class/virtio-ports")
                .into_iter()
                .flatten()
                .flatten()
            {
                let port_name =
                    std::fs::read_to_string(entry.path().join("name")).unwrap_or_default();
                if port_name.trim() == name {
                    return Ok(Path::new("/dev").join(entry.file_name()));
                }
            }
        }
        if Instant::now() >= until {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("serial port {} not found", path.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
