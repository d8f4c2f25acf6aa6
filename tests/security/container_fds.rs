//! A container trying to reach the host through the processes berth starts
//! in it: leaked descriptors (CVE-2024-21626), a helper's /proc/<pid>/fd
//! and /exe while it is still berth, and berth's own binary
//! (CVE-2019-5736).

use super::common::*;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A static probe, run inside containers:
/// - `probe self`: prints its own open fds (but the one listing them), its
///   SigIgn/SigBlk, and whether pid 1 (when that is not itself) shows its
///   fds or exe.
/// - `probe scan SECS`: for SECS seconds, reads every other process's
///   /proc/<pid>/exe and fd links and prints each target once.
/// - `probe exe SECS`: waits for a process whose exe is berth (an exec
///   helper, seen with CAP_SYS_PTRACE despite being non-dumpable), takes
///   its exe and tries to open it for writing; prints `write-open: <errno>`.
fn probe() -> Vec<u8> {
    static BIN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("probe.c");
        std::fs::write(&src, PROBE_C).unwrap();
        let out = d.path().join("probe");
        let st = Command::new("gcc")
            .args(["-static", "-O1", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("gcc");
        assert!(st.success());
        std::fs::read(out).unwrap()
    })
    .clone()
}

const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void status_line(const char *path, const char *key) {
    FILE *f = fopen(path, "r"); char l[256];
    if (!f) return;
    while (fgets(l, sizeof l, f)) if (!strncmp(l, key, strlen(key))) printf("%s", l);
    fclose(f);
}

static int seen(char seen_[][300], int *n, const char *s) {
    for (int i = 0; i < *n; i++) if (!strcmp(seen_[i], s)) return 1;
    if (*n < 4000) strncpy(seen_[(*n)++], s, 299);
    return 0;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "self")) {
        DIR *d = opendir("/proc/self/fd"); struct dirent *e;
        printf("fds:");
        while ((e = readdir(d))) if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d)) printf(" %s", e->d_name);
        printf("\n");
        closedir(d);
        status_line("/proc/self/status", "SigIgn:");
        status_line("/proc/self/status", "SigBlk:");
        if (getpid() != 1) {
            char b[512]; ssize_t n = readlink("/proc/1/exe", b, sizeof b - 1);
            printf("pid1-exe: %s\n", n < 0 ? strerror(errno) : "readable");
            DIR *p = opendir("/proc/1/fd");
            int fds = 0;
            if (p) { while ((e = readdir(p))) if (e->d_name[0] != '.') { char l[64]; snprintf(l, sizeof l, "/proc/1/fd/%s", e->d_name); if (readlink(l, b, sizeof b - 1) >= 0) fds++; } closedir(p); }
            printf("pid1-fd-links-readable: %d\n", fds);
        }
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "scan")) {
        static char seen_[4000][300]; int nseen = 0;
        double end = now() + atof(argv[2]);
        int self = getpid();
        printf("scanning\n");
        while (now() < end) {
            DIR *d = opendir("/proc"); struct dirent *e;
            while ((e = readdir(d))) {
                int pid = atoi(e->d_name);
                if (pid <= 0 || pid == self) continue;
                char p[64], b[300], line[320];
                snprintf(p, sizeof p, "/proc/%d/exe", pid);
                ssize_t n = readlink(p, b, sizeof b - 1);
                if (n >= 0) { b[n] = 0; snprintf(line, sizeof line, "exe %s", b); if (!seen(seen_, &nseen, line)) printf("%s\n", line); }
                snprintf(p, sizeof p, "/proc/%d/fd", pid);
                DIR *f = opendir(p);
                if (!f) continue;
                struct dirent *g;
                while ((g = readdir(f))) {
                    if (g->d_name[0] == '.') continue;
                    char q[96]; snprintf(q, sizeof q, "/proc/%d/fd/%s", pid, g->d_name);
                    n = readlink(q, b, sizeof b - 1);
                    if (n < 0) continue;
                    b[n] = 0;
                    snprintf(line, sizeof line, "fd %s", b);
                    if (!seen(seen_, &nseen, line)) printf("%s\n", line);
                }
                closedir(f);
            }
            closedir(d);
        }
        printf("done\n");
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "exe")) {
        double end = now() + atof(argv[2]);
        int self = getpid();
        printf("waiting\n");
        while (now() < end) {
            DIR *d = opendir("/proc"); struct dirent *e;
            while ((e = readdir(d))) {
                int pid = atoi(e->d_name);
                if (pid <= 0 || pid == self) continue;
                char p[64], l[300];
                snprintf(p, sizeof p, "/proc/%d/exe", pid);
                ssize_t n = readlink(p, l, sizeof l - 1);
                if (n < 0) continue;
                l[n] = 0;
                if (!strstr(l, "berth")) continue;
                snprintf(p, sizeof p, "/proc/%d/exe", pid);
                int exe = open(p, O_PATH);
                if (exe < 0) { printf("exe-open: %s\n", strerror(errno)); return 0; }
                char q[64]; snprintf(q, sizeof q, "/proc/self/fd/%d", exe);
                int w = open(q, O_WRONLY);
                printf("write-open: %s\n", w < 0 ? strerror(errno) : "SUCCEEDED");
                return 0;
            }
            closedir(d);
        }
        printf("timeout\n");
        return 0;
    }
    return 2;
}
"#;

fn setup() -> (Registry, Berth) {
    let (reg, berth) = setup_with(|_| {});
    berth.ok(&["pull", "-q", "probe"]);
    (reg, berth)
}

/// The probe image in a registry; `prepare` runs on the new Berth before
/// it pulls (the rootless test hands its dir to the user first).
fn setup_with(prepare: impl FnOnce(&Berth)) -> (Registry, Berth) {
    let reg = Registry::start();
    let mut l = Layout::new();
    let mut layer = busybox_layer();
    layer.push(Entry::File("probe", probe(), 0o755));
    l.image(&[layer], "amd64", &["/bin/sh"], Some("latest"));
    reg.push_layout(l.path(), "latest", "probe:latest", false);
    let berth = Berth::new(&[&reg]);
    prepare(&berth);
    (reg, berth)
}

/// A host directory open as fd 7 (not close-on-exec) in the berth process
/// `cmd` will start, as a shell's `exec 7</some/dir` leaves it.
fn with_fd7(cmd: &mut Command, dir: &std::path::Path) {
    let f = std::fs::File::open(dir).unwrap();
    let fd = std::os::fd::IntoRawFd::into_raw_fd(f);
    // SAFETY: dup2 between fork and exec; the fd stays open in the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn output(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn exec_hands_no_host_fd_to_the_container() {
    let (_reg, berth) = setup();
    berth.ok(&["run", "-d", "--name", "c", "probe", "sleep", "600"]);
    let host = tempfile::tempdir().unwrap();
    // The attack: write through the caller's directory fd 7.
    let mut cmd = berth.cmd();
    cmd.args(["exec", "c", "sh", "-c", "echo pwned > /proc/self/fd/7/file"]);
    with_fd7(&mut cmd, host.path());
    let _ = cmd.output().unwrap();
    assert!(
        !host.path().join("file").exists(),
        "exec wrote on the host through an inherited fd"
    );
    // Its stdout and stderr are pipes of berth's, not the caller's files.
    let mut cmd = berth.cmd();
    cmd.args(["exec", "c", "/probe", "self"]);
    with_fd7(&mut cmd, host.path());
    let (out, _) = output(&cmd.output().unwrap());
    assert!(out.contains("fds: 0 1 2\n"), "{out}");
    let out = berth.ok(&[
        "exec",
        "c",
        "sh",
        "-c",
        "readlink /proc/self/fd/1; readlink /proc/self/fd/2",
    ]);
    for l in out.lines() {
        assert!(l.starts_with("pipe:"), "exec stdio is not a pipe: {out}");
    }
}

#[test]
fn exec_workdir_through_a_leaked_fd_is_refused() {
    let (_reg, berth) = setup();
    berth.ok(&["run", "-d", "--name", "c", "probe", "sleep", "600"]);
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("host-only-marker"), "x").unwrap();
    let mut cmd = berth.cmd();
    cmd.args([
        "exec",
        "-w",
        "/proc/self/fd/7",
        "c",
        "sh",
        "-c",
        "cd ../../..; ls; ls /proc/self/cwd/",
    ]);
    with_fd7(&mut cmd, host.path());
    let o = cmd.output().unwrap();
    let (out, err) = output(&o);
    assert_eq!(o.status.code(), Some(126), "{out}{err}");
    assert!(!out.contains("host-only-marker"), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/proc/self/fd/7"), "{err}");
}

/// Processes of every kind berth starts in a container begin with fds
/// 0, 1, 2 only, default signal dispositions and an empty mask; berth's
/// own pid 1 (`--init`) shows the container nothing of its host fds.
#[test]
fn processes_start_clean_run_init_exec_healthcheck() {
    let (_reg, berth) = setup();
    let clean = |what: &str, out: &str| {
        assert!(out.contains("fds: 0 1 2\n"), "{what}: {out}");
        assert!(out.contains("SigIgn:\t0000000000000000"), "{what}: {out}");
        assert!(out.contains("SigBlk:\t0000000000000000"), "{what}: {out}");
    };
    let mut cmd = berth.cmd();
    cmd.args(["run", "--rm", "probe", "/probe", "self"]);
    let host = tempfile::tempdir().unwrap();
    with_fd7(&mut cmd, host.path());
    let (out, err) = output(&cmd.output().unwrap());
    clean("run", &format!("{out}{err}"));
    let out = berth.ok(&["run", "--rm", "--init", "probe", "/probe", "self"]);
    clean("run --init", &out);
    assert!(out.contains("pid1-exe: Permission denied"), "{out}");
    assert!(out.contains("pid1-fd-links-readable: 0"), "{out}");
    let mut cmd = berth.cmd();
    cmd.args([
        "run",
        "--rm",
        "--runtime",
        "/usr/sbin/runc",
        "probe",
        "/probe",
        "self",
    ]);
    with_fd7(&mut cmd, host.path());
    let (out, err) = output(&cmd.output().unwrap());
    clean("run --runtime runc", &format!("{out}{err}"));
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "h",
        "--health-cmd",
        "/probe self > /tmp/hc.new && mv /tmp/hc.new /tmp/hc",
        "--health-interval",
        "1s",
        "probe",
        "sleep",
        "600",
    ]);
    let start = Instant::now();
    let hc = loop {
        let o = berth.run(&["exec", "h", "cat", "/tmp/hc"]);
        if o.status.success() {
            break String::from_utf8_lossy(&o.stdout).into_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no health check ran"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    clean("health check", &hc);
    clean("exec", &berth.ok(&["exec", "h", "/probe", "self"]));
    clean(
        "exec -t",
        &berth
            .ok(&["exec", "-t", "h", "/probe", "self"])
            .replace("\r\n", "\n"),
    );
}

/// While the host runs exec (with a host directory open as fd 7) and a
/// health check, a process in the container watches /proc: it must never
/// see berth's binary or any host file through another process.
#[test]
fn container_sees_no_berth_process_internals() {
    let (_reg, berth) = setup();
    let marker = tempfile::tempdir().unwrap();
    let marker_name = marker
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "w",
        "--health-cmd",
        "true",
        "--health-interval",
        "1s",
        "probe",
        "/probe",
        "scan",
        "8",
    ]);
    let start = Instant::now();
    while !berth.ok(&["logs", "w"]).contains("scanning") {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(6) {
        let mut cmd = berth.cmd();
        cmd.args(["exec", "w", "true"]).stdout(Stdio::null());
        with_fd7(&mut cmd, marker.path());
        let _ = cmd.status();
        n += 1;
    }
    assert!(n > 10, "only {n} execs ran");
    let start = Instant::now();
    let log = loop {
        let log = berth.ok(&["logs", "w"]);
        if log.contains("done") {
            break log;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{log}");
        std::thread::sleep(Duration::from_millis(200));
    };
    for l in log.lines() {
        assert!(
            !l.contains("berth") && !l.contains(&marker_name) && !l.contains("/tmp"),
            "the container saw {l:?} through another process:\n{log}"
        );
    }
}

/// CVE-2019-5736: a container that may ptrace (so non-dumpable helpers
/// do not hide them) catches a berth exec helper before it execs, takes
/// its /proc/<pid>/exe and opens it for writing. That must be a sealed
/// copy that cannot be written (EROFS), not the host's berth (which only
/// ETXTBSY protects, while something runs it). (The other road in, an
/// entrypoint of `#!/proc/self/exe`, fails with ENOENT on this kernel
/// whenever the exec'ing binary lies outside the container's root.)
#[test]
fn berth_binary_cannot_be_overwritten_from_a_container() {
    let (_reg, berth) = setup();
    let bin_before = std::fs::read(bin()).unwrap();
    berth.ok(&[
        "run",
        "-d",
        "--name",
        "x",
        "--cap-add",
        "SYS_PTRACE",
        "probe",
        "/probe",
        "exe",
        "20",
    ]);
    let start = Instant::now();
    while !berth.ok(&["logs", "x"]).contains("waiting") {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
    // The monitor of the probe's container berth forked runs from the sealed copy too.
    let monitors = Command::new("pgrep")
        .args(["-f", "--", "--name x --cap-add"])
        .output()
        .unwrap();
    let monitors = String::from_utf8_lossy(&monitors.stdout).into_owned();
    assert!(!monitors.trim().is_empty());
    for m in monitors.split_whitespace() {
        let e = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/{m}/exe"))
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS), "monitor {m}'s binary");
    }
    let log = loop {
        let _ = berth.cmd().args(["exec", "x", "true"]).status();
        let log = berth.ok(&["logs", "x"]);
        if log.contains("write-open") || log.contains("exe-open") || log.contains("timeout") {
            break log;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{log}");
    };
    assert!(
        log.contains("write-open: Read-only file system"),
        "the container got at berth's binary: {log}"
    );
    assert_eq!(std::fs::read(bin()).unwrap(), bin_before);
}

/// Rootless: the same attacks, berth run by an unprivileged user. A berth
/// binary the user could write (a copy in their own dir) is re-executed
/// from a sealed memfd, whose seals refuse writes.
#[test]
fn rootless_exec_hands_nothing_and_a_user_owned_binary_is_sealed() {
    let (uid, gid) = test_user();
    let (_reg, berth) = setup_with(|b| {
        std::fs::create_dir_all(b.dir.path().join("runtime")).unwrap();
        std::fs::copy(bin(), b.dir.path().join("berth")).unwrap();
    });
    berth.give_to(uid, gid);
    let own_bin = berth.dir.path().join("berth");
    let rootless = |args: &[&str]| {
        let mut c = berth.rootless_cmd(uid, gid);
        c.args(args);
        c
    };
    assert!(
        rootless(&["pull", "-q", "probe"])
            .status()
            .unwrap()
            .success()
    );
    let mut c = rootless(&["run", "-d", "--name", "c", "probe", "sleep", "600"]);
    assert!(c.status().unwrap().success());
    let host = berth.dir.path().join("hostdir");
    std::fs::create_dir(&host).unwrap();
    std::os::unix::fs::chown(&host, Some(uid), Some(gid)).unwrap();
    let mut cmd = rootless(&["exec", "c", "sh", "-c", "echo pwned > /proc/self/fd/7/file"]);
    with_fd7(&mut cmd, &host);
    let (out, err) = output(&cmd.output().unwrap());
    assert!(!host.join("file").exists(), "{out}{err}");
    let mut cmd = rootless(&["exec", "c", "/probe", "self"]);
    with_fd7(&mut cmd, &host);
    let (out, err) = output(&cmd.output().unwrap());
    assert!(out.contains("fds: 0 1 2\n"), "{out}{err}");
    assert!(out.contains("SigIgn:\t0000000000000000"), "{out}");
    // The user's own copy of berth runs from a sealed memfd.
    let mut own = Command::new(&own_bin);
    own.uid(uid).gid(gid).env_clear();
    for (k, v) in berth.rootless_cmd(uid, gid).get_envs() {
        if let Some(v) = v {
            own.env(k, v);
        }
    }
    let out = own
        .args(["run", "-d", "--name", "m", "probe", "sleep", "600"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let monitors = Command::new("pgrep")
        .args(["-f", "--", "--name m probe sleep 600"])
        .output()
        .unwrap();
    let monitors = String::from_utf8_lossy(&monitors.stdout).into_owned();
    assert!(!monitors.trim().is_empty());
    for m in monitors.split_whitespace() {
        let exe = std::fs::read_link(format!("/proc/{m}/exe")).unwrap();
        assert!(
            exe.to_string_lossy().starts_with("/memfd:berth"),
            "monitor {m} runs {exe:?}"
        );
        // A memfd being executed refuses write opens (ETXTBSY) like any
        // binary; its seals refuse writes for good, whoever holds it.
        let f = std::fs::File::open(format!("/proc/{m}/exe")).unwrap();
        // SAFETY: F_GET_SEALS on an fd we own.
        let seals = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&f), libc::F_GET_SEALS) };
        assert!(
            seals >= 0 && seals & libc::F_SEAL_WRITE != 0,
            "seals {seals:#x}"
        );
        assert!(seals & libc::F_SEAL_SEAL != 0, "seals {seals:#x}");
    }
}

/// A build RUN step is a container process like any other: clean fds and
/// signals, even when `berth build` holds a host directory as fd 7.
#[test]
fn build_run_steps_start_clean() {
    let (_reg, berth) = setup();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM probe\nRUN /probe self > /self.txt; echo x > /proc/self/fd/7/pwned || true\n",
    )
    .unwrap();
    let host = tempfile::tempdir().unwrap();
    let mut cmd = berth.cmd();
    cmd.args(["build", "-q", "-t", "runprobe"]).arg(ctx.path());
    with_fd7(&mut cmd, host.path());
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!host.path().join("pwned").exists());
    let out = berth.ok(&["run", "--rm", "runprobe", "cat", "/self.txt"]);
    assert!(out.contains("fds: 0 1 2\n"), "{out}");
    assert!(out.contains("SigIgn:\t0000000000000000"), "{out}");
    assert!(out.contains("SigBlk:\t0000000000000000"), "{out}");
}

/// Files open at the given numbers (not close-on-exec) in the berth
/// process `cmd` starts, as a shell's `3<file` leaves them.
/// The caller keeps `fds` open until the command has started.
fn with_fds(cmd: &mut Command, fds: &[(i32, &std::os::fd::OwnedFd)]) {
    use std::os::fd::AsRawFd;
    let raw: Vec<(i32, i32)> = fds.iter().map(|(n, f)| (*n, f.as_raw_fd())).collect();
    // SAFETY: dup2 between fork and exec; the fds stay open in the parent.
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first: a source may already sit at a target
            // number (dup2 onto itself would keep it close-on-exec).
            let mut high = Vec::new();
            for &(n, fd) in &raw {
                let h = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 1000);
                if h < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                high.push((n, h));
            }
            for (n, h) in high {
                if libc::dup2(h, n) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

fn open_fd(p: &std::path::Path) -> std::os::fd::OwnedFd {
    std::fs::File::open(p).unwrap().into()
}

/// `run --preserve-fds N` hands the caller's fds 3 .. 3+N-1 into the
/// container at their numbers, through the monitor, and nothing else: not
/// the caller's fd beyond N (a host directory), not a file of berth's.
/// Without the flag, none of them arrives.
#[test]
fn preserve_fds_hands_in_exactly_the_fds_asked_for() {
    let (_reg, berth) = setup();
    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("given");
    std::fs::write(&file, "handed in\n").unwrap();
    let run = |args: &[&str]| {
        let mut cmd = berth.cmd();
        cmd.args(args);
        let (a, b, dir) = (open_fd(&file), open_fd(&file), open_fd(host.path()));
        with_fds(&mut cmd, &[(3, &a), (4, &b), (7, &dir)]);
        let o = cmd.output().unwrap();
        let (out, err) = output(&o);
        (o.status.code(), format!("{out}{err}"))
    };
    let (code, out) = run(&["run", "--rm", "probe", "/probe", "self"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("fds: 0 1 2\n"),
        "without --preserve-fds: {out}"
    );
    let (code, out) = run(&["run", "--rm", "--preserve-fds=2", "probe", "/probe", "self"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("fds: 0 1 2 3 4\n"), "--preserve-fds=2: {out}");
    let (_, out) = run(&[
        "run",
        "--rm",
        "-i",
        "--preserve-fds=2",
        "probe",
        "sh",
        "-c",
        "cat <&4",
    ]);
    assert_eq!(out, "handed in\n");
    // The attack through the fd beyond the range: it is not there.
    let (_, out) = run(&[
        "run",
        "--rm",
        "--preserve-fds=2",
        "probe",
        "sh",
        "-c",
        "ls /proc/self/fd/7/ 2>&1; echo pwned > /proc/self/fd/7/file",
    ]);
    assert!(!host.path().join("file").exists(), "{out}");
    assert!(!out.contains("given"), "{out}");
    // An external runtime is told to pass on the same ones.
    let (code, out) = run(&[
        "run",
        "--rm",
        "--preserve-fds=1",
        "--runtime",
        "/usr/sbin/runc",
        "probe",
        "/probe",
        "self",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("fds: 0 1 2 3\n"),
        "runc --preserve-fds=1: {out}"
    );
    // exec too.
    berth.ok(&["run", "-d", "--name", "c", "probe", "sleep", "600"]);
    let (_, out) = run(&["exec", "c", "/probe", "self"]);
    assert!(out.contains("fds: 0 1 2\n"), "exec: {out}");
    let (_, out) = run(&["exec", "--preserve-fds=1", "c", "/probe", "self"]);
    assert!(
        out.contains("fds: 0 1 2 3\n"),
        "exec --preserve-fds=1: {out}"
    );
    // An fd the caller does not have is refused, not taken from berth.
    let o = berth.run(&["run", "--rm", "--preserve-fds=9", "probe", "true"]);
    let (_, err) = output(&o);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(err.contains("file descriptor"), "{err}");
}

/// The monitor keeps no copy of a preserved fd: once the container closes
/// the write end of a pipe handed in, the caller's reader sees EOF.
#[test]
fn preserved_pipe_is_held_by_the_container_alone() {
    let (_reg, berth) = setup();
    let (r, w) = rustix::pipe::pipe().unwrap();
    let mut cmd = berth.cmd();
    cmd.args([
        "run",
        "-d",
        "--preserve-fds=1",
        "probe",
        "sh",
        "-c",
        "echo hi >&3; exec 3>&-; sleep 600",
    ]);
    with_fds(&mut cmd, &[(3, &w)]);
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{:?}", output(&o));
    drop(w);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut s);
        let _ = tx.send(s);
    });
    let got = rx
        .recv_timeout(Duration::from_secs(15))
        .expect("the pipe stayed open after the container closed it: the monitor holds a copy");
    assert_eq!(got, "hi\n");
}

/// `--pid host` shows the container the host's processes, not into them:
/// berth's monitor and CLI (their exe, their fds) and the host's pid 1 (its
/// root) stay closed to the container's root, which lacks the host's
/// capabilities (the kernel's ptrace access check, as under podman).
#[test]
fn pid_host_container_cannot_reach_into_host_processes() {
    let (_reg, berth) = setup();
    let host_init = std::fs::read_to_string("/proc/1/comm").unwrap();
    let out = berth.ok(&[
        "run",
        "--rm",
        "--pid=host",
        "probe",
        "sh",
        "-c",
        "echo pid1=$(cat /proc/1/comm); ls /proc/1/root/ 2>&1 | head -1; /probe exe 3",
    ]);
    assert!(out.contains(&format!("pid1={host_init}")), "{out}");
    assert!(out.contains("Permission denied"), "{out}");
    assert!(!out.contains("SUCCEEDED"), "{out}");
    assert!(
        out.contains("timeout"),
        "a berth process was reachable: {out}"
    );
}
