//! Test fixtures: a real registry (Debian's docker-registry) on a free
//! loopback port, OCI image layouts built from busybox-static and pushed
//! with skopeo, and a runner for the berth binary with its own root.

#![allow(dead_code)]

mod clients;
mod pty;
#[allow(unused_imports)]
pub use clients::*;
#[allow(unused_imports)]
pub use pty::*;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The first of `n` consecutive ports free on every address (what a `-p
/// A-B:...` range publishes on), checked by binding them all.
pub fn free_port_range(n: u16) -> u16 {
    loop {
        let base = TcpListener::bind("0.0.0.0:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if base.checked_add(n).is_none() {
            continue;
        }
        let held: Vec<_> = (base..base + n)
            .map_while(|p| TcpListener::bind(("0.0.0.0", p)).ok())
            .collect();
        if held.len() == n as usize {
            return base;
        }
    }
}

pub struct Registry {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
    pub auth: Option<(String, String)>,
}

impl Registry {
    pub fn start() -> Registry {
        Self::start_with(None)
    }

    /// A registry that wants basic auth (htpasswd, bcrypt as distribution requires).
    pub fn start_with_auth(user: &str, pass: &str) -> Registry {
        Self::start_with(Some((user.into(), pass.into())))
    }

    fn start_with(auth: Option<(String, String)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut conf = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((u, p)) = &auth {
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .expect("htpasswd (apache2-utils)");
            assert!(out.status.success());
            std::fs::write(dir.path().join("htpasswd"), &out.stdout).unwrap();
            conf.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), conf).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry");
        let r = Registry {
            port,
            dir,
            child,
            auth,
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "registry did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Copy an OCI layout into the registry with skopeo.
    pub fn push_layout(&self, layout: &Path, tag: &str, dest: &str, all: bool) {
        self.push_layout_as(layout, tag, dest, all, None)
    }

    /// Push, letting skopeo convert the manifest (`v2s2`: Docker schema2).
    pub fn push_layout_as(
        &self,
        layout: &Path,
        tag: &str,
        dest: &str,
        all: bool,
        format: Option<&str>,
    ) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if let Some(f) = format {
            cmd.arg(format!("--format={f}"));
        }
        if all {
            cmd.arg("--all");
        }
        if let Some((u, p)) = &self.auth {
            cmd.arg(format!("--dest-creds={u}:{p}"));
        }
        cmd.arg(format!("oci:{}:{tag}", layout.display()));
        cmd.arg(format!("docker://{}/{dest}", self.host()));
        let out = cmd.output().expect("skopeo");
        assert!(
            out.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Overwrite a blob's bytes inside the registry's storage (keeping its
    /// digest name), to serve content that does not match its digest.
    pub fn corrupt_blob(&self, digest: &str) {
        let hex = digest.trim_start_matches("sha256:");
        let p = self.dir.path().join(format!(
            "data/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ));
        let mut b = std::fs::read(&p).unwrap();
        let n = b.len();
        b[n / 2] ^= 0xff;
        std::fs::write(&p, b).unwrap();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file, dir, symlink, hard link or whiteout in a test layer.
#[derive(Clone)]
pub enum Entry {
    File(&'static str, Vec<u8>, u32),
    Dir(&'static str, u32),
    Symlink(&'static str, &'static str),
    Hardlink(&'static str, &'static str),
    /// A raw path, written as given (for `../` and absolute-path attacks).
    RawFile(String, Vec<u8>),
    Owned(&'static str, Vec<u8>, u64, u64),
    Fifo(&'static str),
    Xattr(&'static str, &'static str, &'static str),
}

pub fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let header = |path: &str, kind: tar::EntryType, size: u64, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        let _ = path;
        h
    };
    for e in entries {
        match e {
            Entry::File(p, data, mode) => {
                let mut h = header(p, tar::EntryType::Regular, data.len() as u64, *mode);
                b.append_data(&mut h, p, &data[..]).unwrap();
            }
            Entry::Owned(p, data, uid, gid) => {
                let mut h = header(p, tar::EntryType::Regular, data.len() as u64, 0o640);
                h.set_uid(*uid);
                h.set_gid(*gid);
                b.append_data(&mut h, p, &data[..]).unwrap();
            }
            Entry::Dir(p, mode) => {
                let mut h = header(p, tar::EntryType::Directory, 0, *mode);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            Entry::Symlink(p, target) => {
                let mut h = header(p, tar::EntryType::Symlink, 0, 0o777);
                b.append_link(&mut h, p, target).unwrap();
            }
            Entry::Hardlink(p, target) => {
                let mut h = header(p, tar::EntryType::Link, 0, 0o644);
                b.append_link(&mut h, p, target).unwrap();
            }
            Entry::Fifo(p) => {
                let mut h = header(p, tar::EntryType::Fifo, 0, 0o666);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            Entry::RawFile(p, data) => {
                // Bypass the tar crate's path checks: write the name bytes directly.
                let mut h = header("x", tar::EntryType::Regular, data.len() as u64, 0o644);
                {
                    let gnu = h.as_gnu_mut().unwrap();
                    gnu.name = [0; 100];
                    gnu.name[..p.len()].copy_from_slice(p.as_bytes());
                }
                h.set_cksum();
                b.append(&h, &data[..]).unwrap();
            }
            Entry::Xattr(p, key, value) => {
                let pax = [(format!("SCHILY.xattr.{key}"), value.as_bytes().to_vec())];
                b.append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                    .unwrap();
                let mut h = header(p, tar::EntryType::Regular, 1, 0o644);
                b.append_data(&mut h, p, &b"x"[..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// busybox-static with a link for every applet, plus passwd/group with an
/// unprivileged user `app` (1000:1000, also in group `audio` 29).
pub fn busybox_layer() -> Vec<Entry> {
    let bb = std::fs::read("/bin/busybox").expect("busybox-static installed");
    let mut v = vec![
        Entry::Dir("bin", 0o755),
        Entry::File("bin/busybox", bb, 0o755),
        Entry::Dir("etc", 0o755),
        Entry::File("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n".to_vec(), 0o644),
        Entry::File("etc/group", b"root:x:0:\napp:x:1000:\naudio:x:29:app\nnobody:x:65534:\n".to_vec(), 0o644),
        Entry::Dir("tmp", 0o1777),
        Entry::Dir("root", 0o700),
        Entry::Dir("home", 0o755),
    ];
    let list = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" && !applet.is_empty() && !applet.contains('[') {
            v.push(Entry::Symlink(
                Box::leak(format!("bin/{applet}").into_boxed_str()),
                "busybox",
            ));
        }
    }
    v
}

/// Builds an OCI image layout on disk.
pub struct Layout {
    pub dir: tempfile::TempDir,
    index: Vec<serde_json::Value>,
    /// VOLUME entries for the images built next.
    pub volumes: Vec<&'static str>,
}

pub struct Built {
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digests: Vec<String>,
}

impl Layout {
    pub fn new() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        Layout {
            dir,
            index: vec![],
            volumes: vec![],
        }
    }

    fn blob(&self, b: &[u8]) -> String {
        let d = sha256(b);
        std::fs::write(self.dir.path().join("blobs/sha256").join(&d[7..]), b).unwrap();
        d
    }

    /// Add an image (gzip layers) and return its digests; `tag` names it
    /// in index.json unless it is None (then it is only a blob, e.g. for a list).
    pub fn image(
        &mut self,
        layers: &[Vec<Entry>],
        arch: &str,
        cmd: &[&str],
        tag: Option<&str>,
    ) -> Built {
        self.image_compressed(layers, arch, cmd, tag, "gzip")
    }

    /// Like `image`, with layers compressed as `gzip`, `zstd` or `none`.
    pub fn image_compressed(
        &mut self,
        layers: &[Vec<Entry>],
        arch: &str,
        cmd: &[&str],
        tag: Option<&str>,
        compression: &str,
    ) -> Built {
        let mut diff_ids = vec![];
        let mut descs = vec![];
        let mut layer_digests = vec![];
        for l in layers {
            let tar = layer_tar(l);
            diff_ids.push(sha256(&tar));
            let (blob, media_type) = match compression {
                "gzip" => (gzip(&tar), "application/vnd.oci.image.layer.v1.tar+gzip"),
                "zstd" => (
                    zstd::encode_all(&tar[..], 3).unwrap(),
                    "application/vnd.oci.image.layer.v1.tar+zstd",
                ),
                _ => (tar.clone(), "application/vnd.oci.image.layer.v1.tar"),
            };
            let d = self.blob(&blob);
            layer_digests.push(d.clone());
            descs.push(json!({"mediaType": media_type, "digest": d, "size": blob.len()}));
        }
        let history: Vec<_> = layers.iter().enumerate().map(|(i, _)| json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("layer {i}")})).collect();
        let config = json!({
            "created": "2024-01-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "Labels": {"test": "berth"},
                "Volumes": self.volumes.iter().map(|v| (v.to_string(), json!({}))).collect::<serde_json::Map<_, _>>()},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        let cb = serde_json::to_vec(&config).unwrap();
        let cd = self.blob(&cb);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cb.len()},
            "layers": descs,
        });
        let mb = serde_json::to_vec(&manifest).unwrap();
        let md = self.blob(&mb);
        if let Some(t) = tag {
            self.index.push(json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mb.len(),
                "annotations": {"org.opencontainers.image.ref.name": t}}));
            self.write_index();
        }
        Built {
            manifest_digest: md,
            config_digest: cd,
            layer_digests,
        }
    }

    /// Add a manifest list over images built with `tag: None`.
    pub fn list(&mut self, entries: &[(&Built, &str)], tag: &str) -> String {
        let manifests: Vec<_> = entries
            .iter()
            .map(|(b, arch)| {
                let size = std::fs::metadata(self.dir.path().join("blobs/sha256").join(&b.manifest_digest[7..])).unwrap().len();
                json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": b.manifest_digest, "size": size,
                    "platform": {"architecture": arch, "os": "linux"}})
            })
            .collect();
        let idx = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
        let ib = serde_json::to_vec(&idx).unwrap();
        let d = self.blob(&ib);
        self.index.push(json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": ib.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}}));
        self.write_index();
        d
    }

    fn write_index(&self) {
        let idx = json!({"schemaVersion": 2, "manifests": self.index});
        std::fs::write(
            self.dir.path().join("index.json"),
            serde_json::to_vec(&idx).unwrap(),
        )
        .unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The berth binary with a private root, runroot, registries.conf and auth file.
pub struct Berth {
    pub dir: tempfile::TempDir,
    pub registries_conf: PathBuf,
    /// Set once the dir belongs to a rootless user.
    owner: std::cell::Cell<Option<(u32, u32)>>,
}

impl Drop for Berth {
    /// Containers die with their test: stop and remove whatever is left.
    fn drop(&mut self) {
        let mut cmd = match self.owner.get() {
            Some((uid, gid)) => self.rootless_cmd(uid, gid),
            None if self.root().join("berth.db").exists() => self.cmd(),
            None => return,
        };
        let _ = cmd
            .args(["rm", "--all", "--force"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // A rootless run leaves the user's pause process (and the pasta of
        // its network namespace): end them with the test.
        for f in ["pause.pid", "rootless-netns-pasta.pid"] {
            if let Ok(p) = std::fs::read_to_string(self.dir.path().join("runtime/berth").join(f))
                && let Some(pid) = p.split_whitespace().next()
            {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_berth")
}

impl Berth {
    pub fn new(registries: &[&Registry]) -> Berth {
        let dir = tempfile::tempdir().unwrap();
        let search: Vec<String> = registries
            .iter()
            .map(|r| format!("\"{}\"", r.host()))
            .collect();
        let mut conf = format!("unqualified-search-registries = [{}]\n", search.join(", "));
        for r in registries {
            conf.push_str(&format!(
                "\n[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
                r.host()
            ));
        }
        let registries_conf = dir.path().join("registries.conf");
        std::fs::write(&registries_conf, conf).unwrap();
        Berth {
            dir,
            registries_conf,
            owner: std::cell::Cell::new(None),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.dir.path().join("run"));
        c.env("CONTAINERS_REGISTRIES_CONF", &self.registries_conf);
        c.env("REGISTRY_AUTH_FILE", self.dir.path().join("auth.json"));
        c.env_remove("BERTH_ROOT").env_remove("BERTH_RUNROOT");
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Run and insist on success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run and insist on failure with `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "berth {args:?}: stdout {} stderr {stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }
}

/// Every path under `dir`, relative, sorted, with a type marker.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = vec![];
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(d).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.push(format!(
                    "{rel} -> {}",
                    std::fs::read_link(&p).unwrap().display()
                ));
            } else if ft.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &p, out);
            } else {
                use std::os::unix::fs::FileTypeExt;
                let kind = if ft.is_char_device() {
                    " (whiteout)"
                } else if ft.is_fifo() {
                    " (fifo)"
                } else {
                    ""
                };
                out.push(format!("{rel}{kind}"));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// A TCP proxy in front of a registry that slows responses to a trickle
/// while `throttle` is set, so a pull can be caught mid-download.
pub struct SlowProxy {
    pub port: u16,
    pub throttle: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SlowProxy {
    pub fn start(upstream: u16) -> SlowProxy {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let throttle = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let t = throttle.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut s_write);
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_read, mut c_write) = (server, client);
                let t = t.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match s_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        if t.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        SlowProxy { port, throttle }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// The unprivileged user rootless tests run as, created on first use with a
/// subordinate id range (as a distro's useradd would give it).
pub fn test_user() -> (u32, u32) {
    const NAME: &str = "berth-test";
    static IDS: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *IDS.get_or_init(|| {
        // Tests in parallel, and test binaries side by side: the user and
        // its ranges are made once, under a lock, and looked up only after
        // both exist (a user seen before its /etc/subuid line gets a
        // single-id mapping: "setgroups: Operation not permitted").
        let lock = std::fs::File::create("/tmp/berth-test-user.lock").unwrap();
        lock.lock().unwrap();
        // Rootless networking (pasta, slirp4netns) opens /dev/net/tun as
        // the user: make it 0666, as distros ship it.
        let _ = Command::new("chmod")
            .args(["0666", "/dev/net/tun"])
            .status();
        let lookup = || {
            let out = Command::new("id").args(["-u", NAME]).output().ok()?;
            let uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
            let out = Command::new("id").args(["-g", NAME]).output().ok()?;
            let gid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
            Some((uid, gid))
        };
        if lookup().is_none() {
            let st = Command::new("useradd")
                .args(["--create-home", "--shell", "/bin/sh", NAME])
                .status()
                .unwrap();
            assert!(st.success(), "useradd {NAME}");
        }
        let ids = lookup().expect("creating the rootless test user");
        for f in ["/etc/subuid", "/etc/subgid"] {
            let cur = std::fs::read_to_string(f).unwrap_or_default();
            if !cur.lines().any(|l| l.starts_with(&format!("{NAME}:"))) {
                let mut fh = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(f)
                    .unwrap();
                writeln!(fh, "{NAME}:1000000:65536").unwrap();
            }
        }
        ids
    })
}

impl Berth {
    /// Hand the whole test dir to `uid`, for a rootless run.
    pub fn give_to(&self, uid: u32, gid: u32) {
        self.owner.set(Some((uid, gid)));
        let st = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// berth as `uid`, with XDG dirs inside the test dir and no --root, so
    /// the rootless defaults are what is exercised.
    pub fn rootless_cmd(&self, uid: u32, gid: u32) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new(bin());
        c.uid(uid).gid(gid);
        c.env_clear();
        c.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        c.env("HOME", self.dir.path());
        c.env("XDG_DATA_HOME", self.dir.path().join("data"));
        c.env("XDG_RUNTIME_DIR", self.dir.path().join("runtime"));
        c.env("CONTAINERS_REGISTRIES_CONF", &self.registries_conf);
        c.stdin(Stdio::null());
        c
    }
}

/// busybox plus /www/index.html holding `page`, for httpd tests.
pub fn web_layer(page: &str) -> Vec<Entry> {
    let mut layer = busybox_layer();
    layer.push(Entry::Dir("www", 0o755));
    layer.push(Entry::File(
        "www/index.html",
        page.as_bytes().to_vec(),
        0o644,
    ));
    layer
}

/// A registry serving `busybox:latest` made of `layer`, and a berth that
/// has pulled it: most tests' setup.
pub fn pulled(layer: Vec<Entry>) -> (Registry, Berth) {
    let reg = registry_with(layer);
    let berth = Berth::new(&[&reg]);
    berth.ok(&["pull", "-q", "busybox"]);
    (reg, berth)
}

/// A registry serving `busybox:latest` made of `layer`.
pub fn registry_with(layer: Vec<Entry>) -> Registry {
    let reg = Registry::start();
    let mut l = Layout::new();
    l.image(&[layer], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "busybox:latest", false);
    reg
}

/// GET / over plain TCP, as curl would, retried for up to 10 s until it
/// answers 200; None if nothing answered.
pub fn http_get(addr: &str) -> Option<String> {
    use std::io::Read;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = (|| {
            let mut s =
                std::net::TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2))
                    .ok()?;
            s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
            let mut out = String::new();
            s.read_to_string(&mut out).ok()?;
            Some(out)
        })();
        if got.as_deref().is_some_and(|o| o.contains("200 OK")) || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A TCP server on 127.0.0.1 that sends `line` to every client, then
/// waits for the client to go (at most 5 s) before closing; its port.
pub fn host_line_server(line: &'static str) -> u16 {
    let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in host.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::Read;
                let _ = s.write_all(line.as_bytes());
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = s.read_to_end(&mut Vec::new());
            });
        }
    });
    port
}

impl Berth {
    /// Rootless `berth ARGS` that must succeed; its stdout.
    pub fn rootless_ok(&self, uid: u32, gid: u32, args: &[&str]) -> String {
        let out = self.rootless_cmd(uid, gid).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Berth {
    /// `berth save` the image and scan every entry of the archive (layers
    /// gunzipped) for `needle`: a secret must not be in any of them.
    pub fn assert_image_lacks(&self, image: &str, needle: &str) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("img.tar");
        self.ok(&["save", "-o", out.to_str().unwrap(), image]);
        let mut a = tar::Archive::new(std::fs::File::open(&out).unwrap());
        let mut scanned = 0;
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            let mut plain = Vec::new();
            if data.starts_with(&[0x1f, 0x8b]) {
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(&data[..]),
                    &mut plain,
                )
                .unwrap();
            } else {
                plain = data;
            }
            scanned += 1;
            assert!(
                !plain.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} found in {:?} of {image}",
                e.path().unwrap()
            );
        }
        assert!(scanned > 3, "{image}: only {scanned} entries saved");
    }
}

/// Networks, bridges and berth's nftables table are host-wide for rootful
/// berth: a test that creates a network holds this lock shared, and one
/// that prunes or resets (removing every unused network of the host)
/// holds it exclusively, so neither pulls a network from under the other.
pub fn network_guard(exclusive: bool) -> std::fs::File {
    let f = std::fs::File::create("/tmp/berth-test-nft.lock").unwrap();
    if exclusive {
        f.lock().unwrap();
    } else {
        f.lock_shared().unwrap();
    }
    f
}

/// Poll `f` every 50 ms until it holds; fail after 20 s naming `what`.
pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
