//! Clients we did not write, fetched once per machine under a lock: the
//! docker CLI (and, for the API's tests, docker-compose and Python's
//! docker SDK).

use super::Berth;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Debian package's files (`apt-get download` and `dpkg-deb -x`, never
/// installed, which could start its daemon), unpacked once per machine
/// under a lock into /var/tmp/berth-tests/NAME; `bin` within it, once
/// `works` says it runs.
pub fn debian_package(package: &str, bin: &str, works: &dyn Fn(&Path) -> bool) -> PathBuf {
    let dir = PathBuf::from(format!("/var/tmp/berth-tests/{package}"));
    let bin = dir.join(bin);
    std::fs::create_dir_all("/var/tmp/berth-tests").unwrap();
    let lock = std::fs::File::create(format!("/var/tmp/berth-tests/{package}.lock")).unwrap();
    lock.lock().unwrap();
    if !works(&bin) {
        let _ = std::fs::remove_dir_all(&dir);
        let dl = dir.join("download");
        std::fs::create_dir_all(&dl).unwrap();
        // apt's _apt user must be able to write there.
        let _ = Command::new("chmod").arg("777").arg(&dl).status();
        let download = || {
            Command::new("apt-get")
                .args(["download", "-qq", package])
                .current_dir(&dl)
                .status()
                .is_ok_and(|s| s.success())
        };
        // A fresh machine may have no package lists yet.
        let got = download()
            || (Command::new("apt-get")
                .args(["update", "-qq"])
                .status()
                .is_ok_and(|s| s.success())
                && download());
        assert!(got, "apt-get download {package}");
        let deb = std::fs::read_dir(&dl)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .expect("the downloaded package");
        let st = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "dpkg-deb -x {package}");
        let _ = std::fs::remove_dir_all(&dl);
        assert!(works(&bin), "{package}: {} does not run", bin.display());
    }
    bin
}

fn says_version(b: &Path, flag: &str, want: &str) -> bool {
    Command::new(b).arg(flag).output().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout).contains(want)
            || String::from_utf8_lossy(&o.stderr).contains(want)
    })
}

/// The docker CLI 20.10, from Debian's docker.io.
pub fn docker_cli() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        debian_package("docker.io", "usr/bin/docker", &|b| {
            says_version(b, "--version", "Docker version 20.10")
        })
    })
    .clone()
}

/// Prometheus, from Debian's package.
pub fn prometheus() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        debian_package("prometheus", "usr/bin/prometheus", &|b| {
            says_version(b, "--version", "prometheus, version")
        })
    })
    .clone()
}

/// A running `system service` on a socket of the test's own; killed (and
/// its socket gone) when dropped.
pub struct ApiService {
    pub child: Child,
    pub socket: PathBuf,
}

impl ApiService {
    pub fn start(berth: &Berth, idle: &str) -> ApiService {
        let socket = berth.dir.path().join("api.sock");
        let uri = format!("unix://{}", socket.display());
        let child = berth
            .cmd()
            .args(["system", "service", "--time", idle, &uri])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while !socket.exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        ApiService { child, socket }
    }

    pub fn docker(&self) -> Command {
        let mut c = Command::new(docker_cli());
        c.arg("-H").arg(format!("unix://{}", self.socket.display()));
        c.env(
            "DOCKER_CONFIG",
            self.socket.parent().unwrap().join("docker-config"),
        );
        c.stdin(Stdio::null());
        c
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.docker().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.docker().args(args).output().unwrap();
        assert!(!out.status.success(), "docker {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

impl Drop for ApiService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
