//! A reader that stops at a declared size.
//!
//! A descriptor's `size` is part of what its digest vouches for, but the
//! digest can only be checked at the end: a registry (or a man in the
//! middle) that sends more than it declared would otherwise be read, saved
//! and unpacked in full first. containers/image reads a blob through a
//! limit of its declared size and refuses the overrun; berth does the same,
//! reading at most one byte more than declared to see it.

use std::io::{self, Read};

/// The error a [`Bounded`] reader returns once its source has given more
/// than `limit` bytes; find it with [`exceeded`].
#[derive(Debug, thiserror::Error)]
#[error("more than {limit} bytes")]
pub struct TooLarge {
    pub limit: u64,
}

/// Passes `inner` through, but never reads more than `limit + 1` bytes
/// from it; the byte past the limit becomes a [`TooLarge`] error instead
/// of data.
pub struct Bounded<R> {
    inner: R,
    limit: u64,
    read: u64,
}

impl<R: Read> Bounded<R> {
    pub fn new(inner: R, limit: u64) -> Bounded<R> {
        Bounded {
            inner,
            limit,
            read: 0,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read > self.limit {
            return Err(io::Error::other(TooLarge { limit: self.limit }));
        }
        // Ask for at most one byte past the limit.
        let room = (self.limit - self.read).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(TooLarge { limit: self.limit }));
        }
        Ok(n)
    }
}

/// The limit a [`Bounded`] reader ran into, if that is what `e` is.
pub fn exceeded(e: &io::Error) -> Option<u64> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<TooLarge>())
        .map(|t| t.limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts how much its reader was asked to give.
    struct Source {
        left: u64,
        given: u64,
    }

    impl Read for Source {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.left as usize);
            buf[..n].fill(b'x');
            self.left -= n as u64;
            self.given += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn exact_size_passes() {
        let mut b = Bounded::new(
            Source {
                left: 1000,
                given: 0,
            },
            1000,
        );
        let mut v = Vec::new();
        b.read_to_end(&mut v).unwrap();
        assert_eq!(v.len(), 1000);
    }

    #[test]
    fn overrun_stops_one_byte_past_the_limit() {
        let mut b = Bounded::new(
            Source {
                left: 10 << 20,
                given: 0,
            },
            1000,
        );
        let mut v = Vec::new();
        let e = b.read_to_end(&mut v).unwrap_err();
        assert_eq!(exceeded(&e), Some(1000));
        assert_eq!(b.inner.given, 1001, "read no more than the limit + 1");
        assert!(v.len() <= 1000, "the extra byte is never handed on");
        // And it stays refused.
        assert!(b.read(&mut [0u8; 16]).is_err());
    }

    #[test]
    fn zero_limit() {
        let mut b = Bounded::new(&b""[..], 0);
        assert_eq!(b.read(&mut [0u8; 4]).unwrap(), 0);
        let mut b = Bounded::new(&b"a"[..], 0);
        assert!(exceeded(&b.read(&mut [0u8; 4]).unwrap_err()).is_some());
    }

    #[test]
    fn unlimited() {
        let mut b = Bounded::new(&[7u8; 100][..], u64::MAX);
        let mut v = Vec::new();
        b.read_to_end(&mut v).unwrap();
        assert_eq!(v.len(), 100);
    }

    #[test]
    fn other_errors_are_not_overruns() {
        assert_eq!(exceeded(&io::Error::other("x")), None);
    }
}
