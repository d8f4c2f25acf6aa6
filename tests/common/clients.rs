//! Clients we did not write, fetched once per machine under a lock: the
//! docker CLI and Prometheus (Debian's), podman-compose, Python's docker
//! SDK and Testcontainers (PyPI, in venvs of their own).

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
        wait_for_socket(&socket);
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

/// A venv of its own under /var/tmp/berth-tests/NAME with `specs`
/// pip-installed, made once per machine under a lock (and again if
/// `works` says it does not work).
pub fn python_venv(name: &str, specs: &[&str], works: &dyn Fn(&Path) -> bool) -> PathBuf {
    let dir = PathBuf::from(format!("/var/tmp/berth-tests/{name}"));
    std::fs::create_dir_all("/var/tmp/berth-tests").unwrap();
    let lock = std::fs::File::create(format!("/var/tmp/berth-tests/{name}.lock")).unwrap();
    lock.lock().unwrap();
    if !works(&dir) {
        let _ = std::fs::remove_dir_all(&dir);
        let st = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "python3 -m venv (package python3-venv)");
        let st = Command::new(dir.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check"])
            .args(specs)
            .status()
            .unwrap();
        assert!(st.success(), "pip install {specs:?}");
        assert!(works(&dir), "{name}: {specs:?} do not work");
    }
    dir
}

/// podman-compose 1.6.0 from PyPI.
pub fn podman_compose() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        python_venv("podman-compose-1.6.0", &["podman-compose==1.6.0"], &|d| {
            says_version(&d.join("bin/podman-compose"), "--version", "1.6.0")
        })
        .join("bin/podman-compose")
    })
    .clone()
}

/// A Python with docker-py 7.2.0 and testcontainers 4.15.0 from PyPI.
pub fn docker_py() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        python_venv(
            "docker-py-7.2.0",
            &["docker==7.2.0", "testcontainers==4.15.0"],
            &|d| {
                Command::new(d.join("bin/python"))
                    .args([
                        "-c",
                        "import docker, testcontainers.core.container; assert docker.__version__ == '7.2.0'",
                    ])
                    .status()
                    .is_ok_and(|s| s.success())
            },
        )
        .join("bin/python")
    })
    .clone()
}

/// Wait (up to 20 s) for a service's socket to appear.
pub fn wait_for_socket(socket: &Path) {
    let t = Instant::now();
    while !socket.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no socket at {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
