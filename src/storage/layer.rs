//! Layers: one directory per chain ID (`layers/<hex>/diff`), shared by every
//! image that has it, created from a verified tar stream.

use super::limit::Bounded;
use super::unpack::{self, UnpackOptions};
use super::{Store, StoreError, io_err, read_err, verify};
use crate::digest::{Digest, Hashing};
use crate::image::manifest::Compression;
use crate::process::private;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// What the store knows of a layer; kept as `layer.json` beside `diff/`, so
/// the directory alone is enough to trust it after a crash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerInfo {
    pub chain_id: Digest,
    pub diff_id: Digest,
    pub blob_digest: Digest,
    pub blob_size: u64,
    pub media_type: String,
    /// Uncompressed tar size.
    pub size: u64,
}

/// A layer to fetch: where it sits in the chain and what its blob is.
pub struct PutLayer<'a> {
    pub parent: Option<&'a Digest>,
    /// Known from the image config when pulling; computed when importing.
    pub diff_id: Option<&'a Digest>,
    pub blob_digest: &'a Digest,
    pub blob_size: Option<u64>,
    pub media_type: &'a str,
    pub compression: Compression,
}

/// The producer half of [`Store::put_layer`]: read `src` to its end in
/// chunks, hash it, save it to `sink`, and hand chunks to the unpacker for as
/// long as it listens.
///
/// With a declared `size`, at most `size + 1` bytes are read: an overrun
/// stops the fetch there, before it reaches the disk or the unpacker.
fn fetch_blob<R: Read>(
    src: R,
    mut sink: Option<io::BufWriter<File>>,
    tx: Pipe,
    digest: &Digest,
    size: Option<u64>,
) -> Result<(Digest, u64), StoreError> {
    let mut src = Hashing::new(Bounded::new(src, size.unwrap_or(u64::MAX)));
    let mut tx = Some(tx);
    let mut spare = Vec::new();
    loop {
        let mut buf = match &tx {
            Some(t) => t.buffer(),
            None => std::mem::take(&mut spare),
        };
        buf.resize(CHUNK, 0);
        // Whole chunks (a socket gives a few KiB a read): fewer wake-ups
        // of the next stage.
        let n = fill(&mut src, &mut buf).map_err(|e| read_err(digest, e))?;
        if n == 0 {
            break;
        }
        if let Some(f) = sink.as_mut() {
            f.write_all(&buf[..n])
                .map_err(io_err("writing temp blob"))?;
        }
        match &tx {
            Some(t) => {
                if t.send(Ok(Chunk { buf, len: n })).is_err() {
                    tx = None;
                }
            }
            None => spare = buf,
        }
    }
    if let Some(mut f) = sink {
        // Synced here, on the reader thread, while the unpacker is still busy.
        f.flush()
            .and_then(|_| f.get_ref().sync_all())
            .map_err(io_err("writing temp blob"))?;
    }
    let (digest, n, _) = src.finish();
    Ok((digest, n))
}

/// Read into `buf` until it is full or the stream ends; how much was read.
fn fill<R: Read>(src: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The size of the chunks that go from one stage of [`Store::put_layer`]
/// to the next.
const CHUNK: usize = 256 * 1024;

/// A chunk: a buffer and how much of it is filled.
struct Chunk {
    buf: Vec<u8>,
    len: usize,
}

/// The sending end of a stage's output: chunks go forward, and their
/// buffers come back once read, to be filled again (no allocation and no
/// zeroing per chunk).
struct Pipe {
    tx: SyncSender<io::Result<Chunk>>,
    back: Receiver<Vec<u8>>,
}

impl Pipe {
    /// A buffer to fill: one that came back, or a new one.
    fn buffer(&self) -> Vec<u8> {
        self.back.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK])
    }

    fn send(&self, chunk: io::Result<Chunk>) -> Result<(), ()> {
        self.tx.send(chunk).map_err(|_| ())
    }
}

/// A pipe between two stages, `depth` chunks deep.
fn pipe(depth: usize) -> (Pipe, ChannelReader) {
    let (tx, rx) = sync_channel(depth);
    let (back_tx, back) = std::sync::mpsc::channel();
    (
        Pipe { tx, back },
        ChannelReader {
            rx,
            back: back_tx,
            cur: None,
            pos: 0,
        },
    )
}

/// Reads the chunks a stage of [`Store::put_layer`] sends: its error when
/// it sends one, the end of the stream when it hangs up.
struct ChannelReader {
    rx: Receiver<io::Result<Chunk>>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    cur: Option<Chunk>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &self.cur {
                Some(c) if self.pos < c.len => break,
                _ => {}
            }
            if let Some(done) = self.cur.take() {
                let _ = self.back.send(done.buf);
            }
            match self.rx.recv() {
                Ok(c) => {
                    self.cur = Some(c?);
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let Some(c) = &self.cur else { return Ok(0) };
        let n = buf.len().min(c.len - self.pos);
        buf[..n].copy_from_slice(&c.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The middle stage of [`Store::put_layer`], on a thread of its own:
/// decompress the blob's chunks as they come and hand the tar on, in
/// chunks, until the unpacker stops listening; an error goes to it in
/// the stream. Decompressing is the heaviest of the three stages, so it
/// shares a core with neither the fetch nor the unpack.
fn decompress_chunks(blob: ChannelReader, compression: Compression, tx: Pipe) {
    let mut dec = match decompress(blob, compression) {
        Ok(d) => d,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    loop {
        let mut buf = tx.buffer();
        buf.resize(CHUNK, 0);
        let sent = match fill(&mut dec, &mut buf) {
            Ok(0) => return,
            Ok(n) => tx.send(Ok(Chunk { buf, len: n })),
            Err(e) => tx.send(Err(e)),
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Passes everything read through to `sink` as well.
pub struct Tee<R, W> {
    inner: R,
    sink: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sink.write_all(&buf[..n])?;
        Ok(n)
    }
}

pub fn decompress<'a, R: Read + 'a>(r: R, c: Compression) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            r,
        ))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
    })
}

fn drain<R: Read>(mut r: R) -> io::Result<u64> {
    io::copy(&mut r, &mut io::sink())
}

impl Store {
    pub fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.root.join("layers").join(chain_id.hex())
    }

    /// The unpacked tree: an overlayfs lower dir.
    pub fn layer_diff(&self, chain_id: &Digest) -> PathBuf {
        self.layer_dir(chain_id).join("diff")
    }

    pub fn layer_info(&self, chain_id: &Digest) -> Option<LayerInfo> {
        let bytes = fs::read(self.layer_dir(chain_id).join("layer.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Fetch-and-unpack in one pass, on three threads: one reads the
    /// compressed stream, hashes it and saves it as the blob; the next
    /// decompresses it; the last hashes the tar (diff ID) and unpacks it.
    /// Only when both digests match is anything renamed into place. The
    /// caller serialises per blob across processes.
    pub fn put_layer<R: Read + Send>(
        &self,
        src: R,
        req: &PutLayer,
    ) -> Result<LayerInfo, StoreError> {
        let have_blob = self.has_blob(req.blob_digest);
        let blob_tmp = self.temp_path(&format!("blob-{}", req.blob_digest.short()));
        let sink = if have_blob {
            None
        } else {
            Some(io::BufWriter::with_capacity(
                1 << 20,
                private::create_new(&blob_tmp).map_err(io_err("creating temp blob"))?,
            ))
        };
        let (tx, blob) = pipe(16);
        let (fetched, unpacked) = std::thread::scope(|s| {
            let producer =
                s.spawn(move || fetch_blob(src, sink, tx, req.blob_digest, req.blob_size));
            // Dropping a channel's reader (when unpacking ends, early or
            // not) lets the producer read on to the end: a blob that does not
            // match its digest is the real story behind a corrupt stream.
            let tar = match req.compression {
                Compression::None => blob,
                c => {
                    let (tx, tar) = pipe(8);
                    s.spawn(move || decompress_chunks(blob, c, tx));
                    tar
                }
            };
            let unpacked = self.unpack_tar(tar, req.blob_digest);
            let fetched = producer.join().unwrap_or_else(|_| {
                Err(io_err(format!("reading blob {}", req.blob_digest))(
                    io::Error::other("reader thread panicked"),
                ))
            });
            (fetched, unpacked)
        });
        let checked = fetched
            .and_then(|(actual, n)| verify(req.blob_digest, &actual, req.blob_size, n).map(|_| n));
        let result = match (checked, unpacked) {
            (Ok(n), Ok(u)) => Ok((u, n)),
            (Ok(_), Err(e)) => Err(e),
            (Err(e), unpacked) => {
                if let Ok((tmp, _, _)) = unpacked {
                    let _ = self.remove_path(&tmp);
                }
                Err(e)
            }
        };
        let ((layer_tmp, diff_id, size), n) = match result {
            Ok(u) => u,
            Err(e) => {
                let _ = fs::remove_file(&blob_tmp);
                return Err(e);
            }
        };
        if let Some(want) = req.diff_id
            && *want != diff_id
        {
            let _ = fs::remove_file(&blob_tmp);
            let _ = self.remove_path(&layer_tmp);
            return Err(StoreError::DiffIdMismatch {
                diff_id: want.clone(),
                actual: diff_id,
            });
        }
        if !have_blob {
            self.commit_blob(&blob_tmp, req.blob_digest)?;
        }
        let chain_id = match req.parent {
            None => diff_id.clone(),
            Some(p) => Digest::of(format!("{p} {diff_id}").as_bytes()),
        };
        let info = LayerInfo {
            chain_id,
            diff_id,
            blob_digest: req.blob_digest.clone(),
            blob_size: n,
            media_type: req.media_type.to_string(),
            size,
        };
        self.commit_layer(&layer_tmp, &info)?;
        Ok(info)
    }

    /// Unpack an uncompressed tar stream into a new temp layer dir, hashing
    /// it. Returns (temp dir, diff ID, size).
    fn unpack_tar<R: Read>(
        &self,
        tar: R,
        what: &Digest,
    ) -> Result<(PathBuf, Digest, u64), StoreError> {
        let tmp = self.temp_path(&format!("layer-{}", what.short()));
        let diff = tmp.join("diff");
        fs::create_dir_all(&diff).map_err(io_err("creating temp layer"))?;
        let mut hashed = Hashing::new(tar);
        let r = unpack::unpack(&mut hashed, &diff, &UnpackOptions::for_current_user());
        if let Err(e) = r {
            let _ = self.remove_path(&tmp);
            return Err(StoreError::Unpack(what.clone(), e));
        }
        // The tar reader stops at the end-of-archive marker; the diff ID
        // covers every byte, padding included.
        drain(&mut hashed).map_err(io_err(format!("reading layer {what}")))?;
        let (diff_id, size, _) = hashed.finish();
        Ok((tmp, diff_id, size))
    }

    fn commit_layer(&self, tmp: &std::path::Path, info: &LayerInfo) -> Result<(), StoreError> {
        let meta =
            serde_json::to_vec_pretty(info).map_err(|e| io_err("encoding layer.json")(e.into()))?;
        fs::write(tmp.join("layer.json"), meta).map_err(io_err("writing layer.json"))?;
        let dest = self.layer_dir(&info.chain_id);
        match fs::rename(tmp, &dest) {
            Ok(()) => Ok(()),
            // Someone else committed the same layer first: theirs is as good.
            Err(e) if dest.join("layer.json").exists() => {
                let _ = e;
                self.remove_path(tmp)
            }
            Err(e) => Err(io_err(format!("storing layer {}", info.chain_id))(e)),
        }
    }

    /// Import an uncompressed-or-compressed tar from outside (`import`,
    /// `load` of a docker-archive): the layer is unpacked and a gzip blob is
    /// made for it at the same time.
    pub fn import_layer<R: Read>(
        &self,
        src: R,
        parent: Option<&Digest>,
    ) -> Result<LayerInfo, StoreError> {
        let mut src = BufReader::with_capacity(256 * 1024, src);
        let head = io::BufRead::fill_buf(&mut src)
            .map_err(io_err("reading layer"))?
            .to_vec();
        let compression = Compression::sniff(&head);
        let blob_tmp = self.temp_path("import-blob");
        let file = io::BufWriter::new(
            private::create_new(&blob_tmp).map_err(io_err("creating temp blob"))?,
        );
        let gz = flate2::write::GzEncoder::new(Hashing::new(file), flate2::Compression::fast());
        let placeholder = Digest::of(b"import");
        let dec = decompress(src, compression).map_err(io_err("starting decompression"))?;
        let mut tee = Tee {
            inner: dec,
            sink: gz,
        };
        let (layer_tmp, diff_id, size) = self.unpack_tar(&mut tee, &placeholder)?;
        drain(&mut tee).map_err(io_err("reading layer"))?;
        let hashed = tee.sink.finish().map_err(io_err("compressing layer"))?;
        let (blob_digest, blob_size, mut file) = hashed.finish();
        file.flush().map_err(io_err("writing temp blob"))?;
        drop(file);
        if !self.has_blob(&blob_digest) {
            self.commit_blob(&blob_tmp, &blob_digest)?;
        }
        let chain_id = match parent {
            None => diff_id.clone(),
            Some(p) => Digest::of(format!("{p} {diff_id}").as_bytes()),
        };
        let info = LayerInfo {
            chain_id,
            diff_id,
            blob_digest,
            blob_size,
            media_type: crate::image::manifest::OCI_LAYER_GZIP.into(),
            size,
        };
        if self.layer_dir(&info.chain_id).exists() {
            self.remove_path(&layer_tmp)?;
        } else {
            self.commit_layer(&layer_tmp, &info)?;
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz_layer(data: &[u8]) -> (Vec<u8>, Digest) {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, "f", data).unwrap();
        let tar = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        (gz.finish().unwrap(), Digest::of(&tar))
    }

    /// Counts what the fetch asked of its source.
    struct Source<'a> {
        data: &'a [u8],
        given: &'a std::sync::atomic::AtomicUsize,
    }

    impl Read for Source<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.read(buf)?;
            self.given.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            Ok(n)
        }
    }

    #[test]
    fn a_blob_past_its_declared_size_is_cut_off_and_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(t.path()).unwrap();
        // Incompressible, so the gzip is about as big as the data.
        let mut x: u32 = 0x2545_f491;
        let data: Vec<u8> = (0..(1 << 20))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let (blob, diff_id) = gz_layer(&data);
        let digest = Digest::of(&blob);
        let given = std::sync::atomic::AtomicUsize::new(0);
        let req = PutLayer {
            parent: None,
            diff_id: Some(&diff_id),
            blob_digest: &digest,
            blob_size: Some(1000),
            media_type: crate::image::manifest::OCI_LAYER_GZIP,
            compression: Compression::Gzip,
        };
        let src = Source {
            data: &blob,
            given: &given,
        };
        let e = store.put_layer(src, &req).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("blob {digest} is larger than its declared size 1000")
        );
        assert_eq!(given.load(std::sync::atomic::Ordering::SeqCst), 1001);
        let tmp: Vec<_> = fs::read_dir(&store.tmp.dir).unwrap().collect();
        assert!(tmp.is_empty(), "{tmp:?}");
        assert!(!store.has_blob(&digest));
        assert_eq!(fs::read_dir(t.path().join("layers")).unwrap().count(), 0);

        // Declared right, it goes in.
        let req = PutLayer {
            blob_size: Some(blob.len() as u64),
            ..req
        };
        let info = store.put_layer(&blob[..], &req).unwrap();
        assert_eq!(info.diff_id, diff_id);
        assert!(store.has_blob(&digest));
    }
}
