//! The content-addressed store: blobs by digest, layers unpacked once per
//! chain ID, and private temp space that a crash cannot leak into.
//!
//! Nothing is visible under its final name until it is complete and
//! verified: every write goes to this process's temp dir, is fsynced, and is
//! renamed into place. A process killed mid-way leaves only its temp dir,
//! which the next berth process sweeps (see [`TempSpace`]).

pub mod layer;
pub mod limit;
pub mod sink;
pub mod unpack;

pub use layer::{LayerInfo, PutLayer};
pub use sink::{ImageSink, NewImage, SinkError};

use crate::digest::{Digest, Hashing};
use crate::process::private;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error(
        "blob {expected} failed verification: content hashes to {actual} ({size} bytes); the source is corrupt or tampered with"
    )]
    DigestMismatch {
        expected: Digest,
        actual: Digest,
        size: u64,
    },
    #[error("blob {digest} is larger than its declared size {size}")]
    TooLarge { digest: Digest, size: u64 },
    #[error("blob {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error(
        "layer {diff_id}: uncompressed content hashes to {actual}, but the image config says {diff_id}"
    )]
    DiffIdMismatch { diff_id: Digest, actual: Digest },
    #[error("blob {0} is not in the store")]
    MissingBlob(Digest),
    #[error("layer {0}: {1}")]
    Unpack(Digest, unpack::UnpackError),
}

pub fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> StoreError {
    let what = what.into();
    move |source| StoreError::Io { what, source }
}

pub struct Store {
    root: PathBuf,
    tmp: TempSpace,
}

impl Store {
    /// Open (creating) the store under `root` and sweep temp dirs of dead
    /// processes.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        // Layers hold setuid binaries and device nodes exactly as images
        // ship them: no other user may reach them (see process::private).
        for d in ["", "blobs", "blobs/sha256", "layers", "tmp", "locks"] {
            let p = root.join(d);
            private::dir(&p).map_err(io_err(format!("creating {}", p.display())))?;
        }
        let tmp = TempSpace::new(&root.join("tmp")).map_err(io_err("creating temp space"))?;
        Ok(Store {
            root: root.to_path_buf(),
            tmp,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(d.hex())
    }

    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).exists()
    }

    pub fn open_blob(&self, d: &Digest) -> Result<File, StoreError> {
        File::open(self.blob_path(d)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::MissingBlob(d.clone()),
            _ => StoreError::Io {
                what: format!("opening blob {d}"),
                source: e,
            },
        })
    }

    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>, StoreError> {
        let mut v = Vec::new();
        self.open_blob(d)?
            .read_to_end(&mut v)
            .map_err(io_err(format!("reading blob {d}")))?;
        Ok(v)
    }

    /// Store small bytes already in memory, verifying they are `expected`.
    pub fn put_blob_bytes(
        &self,
        bytes: &[u8],
        expected: Option<&Digest>,
    ) -> Result<Digest, StoreError> {
        let actual = Digest::of(bytes);
        if let Some(e) = expected
            && *e != actual
        {
            return Err(StoreError::DigestMismatch {
                expected: e.clone(),
                actual,
                size: bytes.len() as u64,
            });
        }
        if self.has_blob(&actual) {
            return Ok(actual);
        }
        let tmp = self.tmp.path(&format!("blob-{}", actual.short()));
        let mut f = private::create_new(&tmp).map_err(io_err("creating temp blob"))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(io_err("writing temp blob"))?;
        self.commit_blob(&tmp, &actual)?;
        Ok(actual)
    }

    /// Move a verified temp file into the blob store under its digest.
    pub fn commit_blob(&self, tmp: &Path, d: &Digest) -> Result<(), StoreError> {
        fs::rename(tmp, self.blob_path(d)).map_err(io_err(format!("storing blob {d}")))
    }

    pub fn temp_path(&self, hint: &str) -> PathBuf {
        self.tmp.path(hint)
    }

    /// A lock file for one piece of content, so concurrent processes fetch
    /// and unpack it once.
    pub fn content_lock(&self, d: &Digest) -> Result<File, StoreError> {
        let p = self.root.join("locks").join(format!("{}.lock", d.hex()));
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(io_err(format!("opening {}", p.display())))?;
        f.lock()
            .map_err(io_err(format!("locking {}", p.display())))?;
        Ok(f)
    }

    /// Remove a blob or layer dir: rename it into temp space first, so a
    /// crash halfway never leaves a half-deleted thing under its real name.
    pub fn remove_path(&self, p: &Path) -> Result<(), StoreError> {
        if !p.exists() {
            return Ok(());
        }
        let trash = self.tmp.path("trash");
        fs::rename(p, &trash).map_err(io_err(format!("removing {}", p.display())))?;
        let r = if trash.is_dir() {
            fs::remove_dir_all(&trash)
        } else {
            fs::remove_file(&trash)
        };
        r.map_err(io_err(format!("removing {}", trash.display())))
    }

    /// Write a stream into a temp file while hashing it; verify it against
    /// `expected` (and `size` when known), then store it.
    pub fn put_blob_stream<R: Read>(
        &self,
        r: R,
        expected: &Digest,
        size: Option<u64>,
    ) -> Result<u64, StoreError> {
        let tmp = self.tmp.path(&format!("blob-{}", expected.short()));
        let mut f = private::create_new(&tmp).map_err(io_err("creating temp blob"))?;
        let mut h = Hashing::new(limit::Bounded::new(r, size.unwrap_or(u64::MAX)));
        let copied = io::copy(&mut h, &mut f)
            .map_err(|e| read_err(expected, e))
            .and_then(|_| f.sync_all().map_err(io_err("syncing temp blob")));
        if let Err(e) = copied {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let (actual, n, _) = h.finish();
        if let Err(e) = verify(expected, &actual, size, n) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        self.commit_blob(&tmp, expected)?;
        Ok(n)
    }
}

/// A read error on blob `d`: an overrun of its declared size (see
/// [`limit::Bounded`]) or the source failing.
pub fn read_err(d: &Digest, e: io::Error) -> StoreError {
    match limit::exceeded(&e) {
        Some(size) => StoreError::TooLarge {
            digest: d.clone(),
            size,
        },
        None => StoreError::Io {
            what: format!("fetching blob {d}"),
            source: e,
        },
    }
}

pub fn verify(
    expected: &Digest,
    actual: &Digest,
    size: Option<u64>,
    n: u64,
) -> Result<(), StoreError> {
    if let Some(s) = size
        && s != n
    {
        return Err(StoreError::SizeMismatch {
            digest: expected.clone(),
            expected: s,
            actual: n,
        });
    }
    if expected != actual {
        return Err(StoreError::DigestMismatch {
            expected: expected.clone(),
            actual: actual.clone(),
            size: n,
        });
    }
    Ok(())
}

/// This process's private temp dir, `tmp/<pid>-<n>`, guarded by an flock on
/// `tmp/<pid>-<n>.lock` held until exit. Any dir whose lock can be taken
/// belonged to a process that died (even by SIGKILL), and is removed.
struct TempSpace {
    dir: PathBuf,
    _lock: File,
    counter: AtomicU64,
}

impl TempSpace {
    fn new(base: &Path) -> io::Result<TempSpace> {
        sweep(base);
        let pid = std::process::id();
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("{pid}-{nonce}");
        let lock_path = base.join(format!("{name}.lock"));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        lock.lock()?;
        let dir = base.join(&name);
        private::dir(&dir)?;
        Ok(TempSpace {
            dir,
            _lock: lock,
            counter: AtomicU64::new(0),
        })
    }

    fn path(&self, hint: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{hint}-{n}"))
    }
}

impl Drop for TempSpace {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        let _ = fs::remove_file(self.dir.with_extension("lock"));
    }
}

fn sweep(base: &Path) {
    let Ok(rd) = fs::read_dir(base) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "lock") {
            let Ok(f) = File::options().write(true).open(&p) else {
                continue;
            };
            if f.try_lock().is_ok() {
                let dir = p.with_extension("");
                let _ = make_removable(&dir);
                let _ = fs::remove_dir_all(&dir);
                let _ = fs::remove_file(&p);
            }
        }
    }
}

/// A half-unpacked layer can hold read-only directories; a rootless owner
/// must make them writable before it can delete them.
fn make_removable(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if crate::process::pause::host_ids().0 == 0 {
        return Ok(());
    }
    for e in fs::read_dir(dir)?.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            let _ = fs::set_permissions(e.path(), fs::Permissions::from_mode(0o700));
            let _ = make_removable(&e.path());
        }
    }
    Ok(())
}
