//! REFRESH: what a VM restored from a snapshot must not keep from the moment the snapshot was
//! taken. Every VM restored from one snapshot resumes with the same kernel CRNG state, so two
//! siblings would hand out the same "random" bytes until the kernel happened to reseed, and with
//! the clock of the snapshot's creation. The host sends fresh entropy and its current time.
//!
//! Writing to /dev/urandom is not enough: since Linux 5.18 a write only mixes the bytes into the
//! input pool, and the CRNG that serves reads keeps its key until its next scheduled reseed.
//! RNDADDENTROPY credits the bytes and RNDRESEEDCRNG rekeys the CRNG from the pool at once, so
//! the very next read differs between siblings. Both need CAP_SYS_ADMIN (the agent is PID 1).

use crate::messages::Refresh;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;

/// Smallest and largest entropy the host may send: 128 bits is enough to diverge, 4 KiB bounds
/// the ioctl buffer (the kernel's input pool is 256 bits; more only costs time).
pub const MIN_ENTROPY_BYTES: usize = 16;
pub const MAX_ENTROPY_BYTES: usize = 4096;

/// `_IOW('R', 0x03, int[2])` and `_IO('R', 0x07)` from <linux/random.h>.
const RNDADDENTROPY: libc::c_ulong = 0x4008_5203;
const RNDRESEEDCRNG: libc::c_ulong = 0x5207;

/// Checks the request without touching the system (also used by tests).
pub fn validate(req: &Refresh) -> Result<(), String> {
    let n = req.entropy.0.len();
    if !(MIN_ENTROPY_BYTES..=MAX_ENTROPY_BYTES).contains(&n) {
        return Err(format!(
            "entropy must be {MIN_ENTROPY_BYTES}..{MAX_ENTROPY_BYTES} bytes, got {n}"
        ));
    }
    if let Some(ms) = req.unix_time_ms {
        // Before 2020 or after 2200 is a host bug, not a time to set.
        if !(1_577_836_800_000..=7_258_118_400_000).contains(&ms) {
            return Err(format!("unix_time_ms {ms} is not a plausible current time"));
        }
    }
    Ok(())
}

/// Mixes in the host's entropy, reseeds the CRNG, then sets the clock if a time was given.
pub fn apply(req: &Refresh) -> Result<(), String> {
    validate(req)?;
    reseed(&req.entropy.0)?;
    if let Some(ms) = req.unix_time_ms {
        set_clock(ms)?;
    }
    Ok(())
}

fn reseed(entropy: &[u8]) -> Result<(), String> {
    let dev = OpenOptions::new()
        .write(true)
        .open("/dev/urandom")
        .map_err(|e| format!("open /dev/urandom: {e}"))?;
    // struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }, built in u32
    // words so that the kernel reads an aligned structure.
    let words = entropy.len().div_ceil(4);
    let mut info = vec![0u32; 2 + words];
    info[0] = (entropy.len() * 8) as u32;
    info[1] = entropy.len() as u32;
    for (i, chunk) in entropy.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        info[2 + i] = u32::from_ne_bytes(w);
    }
    // SAFETY: `info` is a live, aligned rand_pool_info whose buf_size matches its payload.
    let r = unsafe { libc::ioctl(dev.as_raw_fd(), RNDADDENTROPY as _, info.as_ptr()) };
    if r != 0 {
        return Err(format!(
            "RNDADDENTROPY: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: RNDRESEEDCRNG takes no argument.
    let r = unsafe { libc::ioctl(dev.as_raw_fd(), RNDRESEEDCRNG as _) };
    if r != 0 {
        return Err(format!(
            "RNDRESEEDCRNG: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn set_clock(unix_ms: u64) -> Result<(), String> {
    let ts = libc::timespec {
        tv_sec: (unix_ms / 1000) as libc::time_t,
        tv_nsec: ((unix_ms % 1000) * 1_000_000) as libc::c_long,
    };
    // SAFETY: ts is a valid timespec for the duration of the call.
    if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) } != 0 {
        return Err(format!(
            "clock_settime: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Bytes;

    fn req(n: usize, time: Option<u64>) -> Refresh {
        Refresh {
            entropy: Bytes(vec![7; n]),
            unix_time_ms: time,
        }
    }

    #[test]
    fn bounds_are_checked_before_anything_is_touched() {
        assert!(validate(&req(16, None)).is_ok());
        assert!(validate(&req(4096, Some(1_800_000_000_000))).is_ok());
        assert!(validate(&req(15, None)).is_err());
        assert!(validate(&req(4097, None)).is_err());
        assert!(validate(&req(32, Some(0))).is_err());
        // apply() validates first: a bad request never reaches the ioctls or the clock.
        assert!(apply(&req(0, Some(1_800_000_000_000))).is_err());
    }
}
