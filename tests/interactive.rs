//! What a person types at a terminal, under a real pty the test opens
//! (never through pipes): `run -it`, `exec -it`, Ctrl-C reaching the
//! command in the foreground, the window size, Ctrl-P Ctrl-Q detaching and
//! `attach` coming back.

mod common;

use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn setup() -> (Registry, Berth) {
    pulled(busybox_layer())
}

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn interactive_tty_through_a_real_pty() {
    let (_reg, berth) = setup();
    let cmdline = format!(
        "{} --root {} --runroot {} run -it --rm busybox sh -c 'tty; test -c /dev/console && echo console-ok; read line; echo got-$line'",
        bin(),
        berth.root().display(),
        berth.dir.path().join("run").display()
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmdline, "/dev/null"])
        .env("CONTAINERS_REGISTRIES_CONF", &berth.registries_conf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"hello\r").unwrap();
    let o = child.wait_with_output().unwrap();
    let text = out(&o);
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("got-hello"), "{text}");
    assert!(
        text.contains("console-ok"),
        "/dev/console is the terminal: {text}"
    );
}

/// `exec -it` under a real terminal: the shell's prompt shows while it
/// runs (it used to show nothing until the shell exited), the window size
/// is the caller's, Ctrl-C reaches the command in the foreground, and the
/// exit code comes back. `exec -d` returns at once.
#[test]
fn exec_it_under_a_real_pty_and_exec_d_detaches() {
    let (_reg, berth) = setup();
    berth.ok(&["run", "-d", "--name", "c", "busybox", "sleep", "600"]);
    let mut cmd = berth.cmd();
    cmd.args(["exec", "-it", "c", "sh"]);
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 40, 100);
    pty.expect("# ", 10);
    pty.send(b"stty size\r");
    pty.expect("40 100", 5);
    ctrl_c_stops_the_foreground_command(&mut pty);
    pty.send(b"exit 7\r");
    assert_eq!(wait_timeout(&mut child, 10), Some(7));

    let start = Instant::now();
    let mut d = berth
        .cmd()
        .args(["exec", "-d", "c", "sleep", "300"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(wait_timeout(&mut d, 10), Some(0), "exec -d did not return");
    assert!(start.elapsed() < Duration::from_secs(5));
    let ps = berth.ok(&["exec", "c", "ps", "-o", "args"]);
    assert!(ps.contains("sleep 300"), "{ps}");
}

/// Send Ctrl-C while the shell runs `sleep` in the foreground: the sleep
/// dies, the rest of the line never runs, and the shell prompts again.
fn ctrl_c_stops_the_foreground_command(pty: &mut Pty) {
    pty.send(b"sleep 100; echo after-sleep\r");
    std::thread::sleep(Duration::from_millis(500));
    pty.send(b"\x03");
    let seen = pty.expect("^C", 5);
    let after = seen.split("^C").nth(1).unwrap_or("").to_string();
    let after = if after.contains("# ") {
        after
    } else {
        after + &pty.expect("# ", 5)
    };
    assert!(
        !after.contains("after-sleep"),
        "Ctrl-C did not stop the command: {seen}{after}"
    );
}

/// `run -it` under a real terminal: the window size is the caller's,
/// Ctrl-C reaches the container's foreground command and a `trap ... INT`
/// in it fires (the container's processes start with default signal
/// dispositions), and the shell's exit code comes back.
#[test]
fn run_it_ctrl_c_reaches_the_container_and_the_exit_code_returns() {
    let (_reg, berth) = setup();
    let mut cmd = berth.cmd();
    cmd.args(["run", "-it", "--rm", "--name", "r", "busybox", "sh"]);
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 33, 91);
    pty.expect("# ", 15);
    pty.send(b"stty size\r");
    pty.expect("33 91", 5);
    ctrl_c_stops_the_foreground_command(&mut pty);
    // A trap on INT in a child shell fires on Ctrl-C.
    pty.send(b"sh -c 'trap \"echo trapped-int; exit 9\" INT; echo armed; sleep 100 & wait'; echo rc=$?\r");
    pty.expect("armed", 5);
    std::thread::sleep(Duration::from_millis(300));
    pty.send(b"\x03");
    let seen = pty.expect("rc=", 5);
    // The prompt may have come in the same read.
    let seen = if seen.split("rc=").nth(1).is_some_and(|a| a.contains("# ")) {
        seen
    } else {
        seen + &pty.expect("# ", 5)
    };
    assert!(
        seen.contains("trapped-int"),
        "the INT trap did not fire: {seen}"
    );
    assert!(seen.contains("rc=9"), "{seen}");
    pty.send(b"exit 4\r");
    assert_eq!(wait_timeout(&mut child, 15), Some(4));
    assert!(
        berth
            .ok(&["ps", "-a", "--format", "{{.Names}}"])
            .trim()
            .is_empty(),
        "--rm removed the container"
    );
}

/// Ctrl-P Ctrl-Q detaches `run -it` and leaves the container running;
/// `attach` under a terminal comes back to the same shell, Ctrl-C there
/// reaches the container, and the exit code comes back through attach.
/// `--detach-keys` picks another sequence.
#[test]
fn ctrl_p_ctrl_q_detaches_and_attach_comes_back() {
    let (_reg, berth) = setup();
    let mut cmd = berth.cmd();
    cmd.args(["run", "-it", "--name", "d", "busybox", "sh"]);
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 24, 80);
    pty.expect("# ", 15);
    pty.send(b"echo marker-$((6*7))\r");
    pty.expect("marker-42", 5);
    pty.send(b"\x10\x11");
    assert_eq!(
        wait_timeout(&mut child, 10),
        Some(0),
        "Ctrl-P Ctrl-Q did not detach"
    );
    let state = berth.ok(&["inspect", "--format", "{{.State.Status}}", "d"]);
    assert_eq!(state.trim(), "running");

    let mut cmd = berth.cmd();
    cmd.args(["attach", "--detach-keys", "ctrl-x", "d"]);
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 24, 80);
    pty.send(b"\r");
    pty.expect("# ", 10);
    ctrl_c_stops_the_foreground_command(&mut pty);
    // The other sequence detaches this time; Ctrl-P Ctrl-Q would not.
    pty.send(b"\x18");
    assert_eq!(
        wait_timeout(&mut child, 10),
        Some(0),
        "--detach-keys ctrl-x did not detach"
    );
    let mut cmd = berth.cmd();
    cmd.args(["attach", "d"]);
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 24, 80);
    pty.send(b"\r");
    pty.expect("# ", 10);
    pty.send(b"exit 6\r");
    assert_eq!(wait_timeout(&mut child, 15), Some(6));
    let code = berth.ok(&["inspect", "--format", "{{.State.ExitCode}}", "d"]);
    assert_eq!(code.trim(), "6");
    berth.ok(&["rm", "d"]);
}

/// `berth completion bash` sourced in a real bash at a terminal: TAB
/// completes a subcommand, and a container name read from the store the
/// command line names with --root.
#[test]
fn bash_completion_completes_commands_and_container_names() {
    let (_reg, berth) = setup();
    berth.ok(&["create", "--name", "completeme", "busybox", "true"]);
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["--norc", "--noprofile", "-i"])
        .env("PS1", "$ ")
        .env("TERM", "dumb")
        .env_remove("BERTH_ROOT")
        .env_remove("BERTH_RUNROOT");
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 24, 200);
    pty.expect("$ ", 10);
    pty.send(format!("source <({} completion bash); echo sourced\r", bin()).as_bytes());
    pty.expect("sourced", 10);
    pty.send(b"berth ru\t");
    pty.expect("berth run ", 10);
    // Ctrl-U: a fresh line.
    pty.send(b"\x15");
    pty.send(
        format!(
            "berth --root {} --runroot {} stop comp\t",
            berth.root().display(),
            berth.dir.path().join("run").display()
        )
        .as_bytes(),
    );
    pty.expect("completeme ", 10);
    pty.send(b"\x15exit\r");
    assert_eq!(wait_timeout(&mut child, 10), Some(0));
    berth.ok(&["rm", "completeme"]);
}

/// `stats` on a terminal redraws its table in place: the screen is cleared
/// once, then each report goes back to the top left and overwrites its
/// lines (each cleared to its end) instead of clearing the screen again.
#[test]
fn stats_redraws_in_place_on_a_terminal() {
    let (_reg, berth) = setup();
    berth.ok(&["run", "-d", "--name", "live", "busybox", "sleep", "1000"]);
    let mut cmd = berth.cmd();
    cmd.args(["stats", "-i", "1", "live"]);
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 24, 200);
    let text = pty.expect_that(|t| t.matches("\x1b[H").count() >= 3, "three reports", 10);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(text.matches("\x1b[2J").count(), 1, "cleared once: {text:?}");
    assert!(text.starts_with("\x1b[2J\x1b[H"), "{text:?}");
    // Every line ends by clearing what an older, longer line left.
    let frame = text.split("\x1b[H").nth(2).unwrap();
    assert!(frame.contains("ID") && frame.contains("live"), "{frame:?}");
    assert!(
        frame.contains("\x1b[K\r\n") || frame.contains("\x1b[K\n"),
        "{frame:?}"
    );
    assert!(frame.ends_with("\x1b[J"), "{frame:?}");
    berth.ok(&["rm", "-f", "-t", "0", "live"]);
}

/// `compose up` attached at a terminal: each service's lines come with
/// their coloured `name-1  | ` prefix, and Ctrl-C typed at the terminal
/// stops every container and ends `up` with 130.
#[test]
fn compose_up_attached_at_a_terminal_stops_on_ctrl_c() {
    let _net = network_guard(false);
    let (_reg, berth) = setup();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compose/apps/attached/compose.yaml");
    let file = file.to_str().unwrap();
    let args = ["compose", "-f", file, "-p", "ptyup"];
    let mut cmd = berth.cmd();
    cmd.args(args)
        .args(["up", "two"])
        .env("SUBNET", "10.201.52.0/24");
    let (mut pty, mut child) = Pty::spawn(&mut cmd, 24, 80);
    let seen = pty.expect("two here", 30);
    assert!(
        seen.contains("two-1  | ") && seen.contains("\x1b["),
        "{seen:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    pty.send(b"\x03");
    assert_eq!(wait_timeout(&mut child, 30), Some(130));
    let state = berth.ok(&["inspect", "--format", "{{.State.Running}}", "ptyup-two-1"]);
    assert_eq!(state.trim(), "false");
    berth.ok(&["compose", "-f", file, "-p", "ptyup", "down", "-t", "0"]);
}
