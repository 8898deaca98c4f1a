//! Non-blocking, close-on-exec pipes used as wake-up signals.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;

/// A `pipe2(O_NONBLOCK | O_CLOEXEC)` pair. Writing one byte wakes whoever polls the read end.
#[derive(Debug)]
pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    pub fn new() -> std::io::Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        Ok(Self { read, write })
    }

    pub fn read_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    pub fn write_fd(&self) -> RawFd {
        self.write.as_raw_fd()
    }

    /// Writes one byte. A full pipe already means "wake up", so EAGAIN is fine.
    pub fn signal(&self) {
        signal_fd(self.write_fd());
    }

    /// Reads until the pipe is empty; returns how many bytes were read.
    pub fn drain(&self) -> usize {
        let mut buf = [0u8; 256];
        let mut total = 0;
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(0) => return total,
                Ok(n) => total += n,
                Err(Errno::EINTR) => continue,
                Err(_) => return total,
            }
        }
    }

    /// Gives up both fds without closing them. For a pipe that librdkafka may still write
    /// to (its io events could not be turned off): closing it would let librdkafka write
    /// into whatever file next gets the same fd number.
    pub fn leak(self) {
        use std::os::fd::IntoRawFd;
        let _ = self.read.into_raw_fd();
        let _ = self.write.into_raw_fd();
    }
}

/// Writes one byte to a raw fd, ignoring a full pipe. Async-signal-safe.
pub fn signal_fd(fd: RawFd) {
    let byte = [1u8];
    // SAFETY: plain write(2) of one byte from a stack buffer; errors (EAGAIN on a full
    // pipe, EBADF after a close race) are harmless for a wake-up signal.
    unsafe {
        libc::write(fd, byte.as_ptr() as *const libc::c_void, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_then_drain_reads_what_was_written() {
        let p = Pipe::new().unwrap();
        assert_eq!(p.drain(), 0);
        p.signal();
        p.signal();
        assert_eq!(p.drain(), 2);
        assert_eq!(p.drain(), 0);
    }

    #[test]
    fn pipes_are_nonblocking_and_cloexec() {
        let p = Pipe::new().unwrap();
        for fd in [&p.read, &p.write] {
            let fl = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).unwrap();
            assert!(OFlag::from_bits_truncate(fl).contains(OFlag::O_NONBLOCK));
            let fdfl = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).unwrap();
            assert!(nix::fcntl::FdFlag::from_bits_truncate(fdfl)
                .contains(nix::fcntl::FdFlag::FD_CLOEXEC));
        }
    }

    #[test]
    fn a_full_pipe_does_not_block_the_signaller() {
        let p = Pipe::new().unwrap();
        for _ in 0..200_000 {
            p.signal();
        }
        assert!(p.drain() > 0);
    }
}
