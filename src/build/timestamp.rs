//! `build --timestamp`: every file a step's layer holds gets the given
//! time, as buildah writes it ("All files committed to the layers of the
//! image will be created with the timestamp"), so the same sources give
//! the same layer digests.

use std::io::{self, Write};

const BLOCK: usize = 512;

/// A writer of a tar stream that sets each header's mtime on the way
/// through. It works on the raw 512-byte blocks, so whatever else a header
/// carries (long names, PAX records, xattrs, whiteouts) passes unchanged.
pub struct MtimeTar<W: Write> {
    inner: W,
    mtime: u64,
    buf: Vec<u8>,
    /// Data blocks still to pass before the next header.
    data_blocks: u64,
}

impl<W: Write> MtimeTar<W> {
    pub fn new(inner: W, mtime: u64) -> MtimeTar<W> {
        MtimeTar {
            inner,
            mtime,
            buf: Vec::with_capacity(BLOCK),
            data_blocks: 0,
        }
    }

    fn block(&mut self, mut b: [u8; BLOCK]) -> io::Result<()> {
        if self.data_blocks > 0 {
            self.data_blocks -= 1;
        } else if b.iter().any(|&x| x != 0) {
            let size = parse_number(&b[124..136])
                .ok_or_else(|| io::Error::other("a tar header with a bad size field"))?;
            self.data_blocks = size.div_ceil(BLOCK as u64);
            let field = format!("{:011o}\0", self.mtime);
            b[136..148].copy_from_slice(field.as_bytes());
            // The checksum counts its own field as spaces.
            b[148..156].fill(b' ');
            let sum: u64 = b.iter().map(|&x| x as u64).sum();
            let field = format!("{sum:06o}\0 ");
            b[148..156].copy_from_slice(field.as_bytes());
        }
        self.inner.write_all(&b)
    }

    /// Everything written out; the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.inner.write_all(&rest)?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for MtimeTar<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        let whole = self.buf.len() / BLOCK * BLOCK;
        let blocks: Vec<u8> = self.buf.drain(..whole).collect();
        for c in blocks.chunks_exact(BLOCK) {
            let mut b = [0u8; BLOCK];
            b.copy_from_slice(c);
            self.block(b)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A tar numeric field: octal text, or GNU base-256 (high bit set).
fn parse_number(f: &[u8]) -> Option<u64> {
    if f.first().is_some_and(|b| b & 0x80 != 0) {
        let mut n: u64 = (f[0] & 0x7f) as u64;
        for &b in &f[1..] {
            n = n.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(n);
    }
    let s: String = f
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn every_member_gets_the_time_and_the_rest_is_kept() {
        let mut b = tar::Builder::new(Vec::new());
        let long = format!("d/{}", "n".repeat(150));
        for (name, body, mtime) in [
            ("a", &b"hello"[..], 5u64),
            (long.as_str(), &[7u8; 1000][..], 9),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o640);
            h.set_mtime(mtime);
            b.append_data(&mut h, name, body).unwrap();
        }
        let src = b.into_inner().unwrap();
        let mut w = MtimeTar::new(Vec::new(), 1_000_000);
        // Odd-sized writes: blocks are reassembled.
        for c in src.chunks(77) {
            w.write_all(c).unwrap();
        }
        let out = w.finish().unwrap();
        assert_eq!(out.len(), src.len());
        let mut a = tar::Archive::new(&out[..]);
        let mut seen = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            assert_eq!(e.header().mtime().unwrap(), 1_000_000);
            assert_eq!(e.header().mode().unwrap(), 0o640);
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            seen.push((e.path().unwrap().display().to_string(), body.len()));
        }
        assert_eq!(seen, vec![("a".to_string(), 5), (long, 1000)]);
    }

    #[test]
    fn numbers_octal_and_base256() {
        assert_eq!(parse_number(b"00000000012\0"), Some(10));
        assert_eq!(
            parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Some(256)
        );
        assert_eq!(parse_number(b"\0\0\0"), Some(0));
        assert_eq!(parse_number(b"zz\0"), None);
    }
}
