//! Signal names and numbers as podman reads and prints them (docker's
//! signal.ParseSignal, podman's range check).

/// Linux signal names as docker's signal.SignalMap has them (the numbers
/// of x86_64 and aarch64 alike).
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
    ("RTMIN", 34),
    ("RTMAX", 64),
];

/// A signal's number from its name (`KILL`, `SIGKILL`, `sigkill`,
/// `RTMIN+3`, `RTMAX-2`) or number, as podman's util.ParseSignal: a
/// leading dash is dropped, docker's signal.ParseSignal does the rest
/// ("invalid signal: X"), then the range is checked.
pub fn signal_number(raw: &str) -> anyhow::Result<i32> {
    let base = raw.strip_prefix('-').unwrap_or(raw);
    let n = match base.parse::<i64>() {
        Ok(0) => anyhow::bail!("invalid signal: {base}"),
        Ok(n) => n,
        Err(_) => {
            let up = base.to_ascii_uppercase();
            let name = up.strip_prefix("SIG").unwrap_or(&up);
            let rt = |prefix: &str, base: i32, sign: i32| {
                name.strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix(if sign > 0 { '+' } else { '-' }))
                    .and_then(|k| k.parse::<i32>().ok())
                    .filter(|k| (1..=15).contains(k) && !(sign < 0 && *k == 15))
                    .map(|k| base + sign * k)
            };
            SIGNALS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .or_else(|| rt("RTMIN", 34, 1))
                .or_else(|| rt("RTMAX", 64, -1))
                .map(i64::from)
                .ok_or_else(|| anyhow::anyhow!("invalid signal: {base}"))?
        }
    };
    if !(1..=64).contains(&n) {
        anyhow::bail!("valid signals are 1 through 64");
    }
    Ok(n as i32)
}

/// A signal as the kernel call takes it.
pub fn parse_signal(raw: &str) -> anyhow::Result<rustix::process::Signal> {
    let n = signal_number(raw)?;
    // SAFETY: 1..=64 are valid Linux signal numbers; a real-time one is
    // only ever sent to a container's process, never used on berth's own
    // handlers or mask (the reservation rustix warns about).
    Ok(unsafe { rustix::process::Signal::from_raw_unchecked(n) })
}

/// `SIGTERM` for 15, as podman's warnings name a signal.
pub fn signal_name(sig: rustix::process::Signal) -> String {
    let n = sig.as_raw();
    match SIGNALS.iter().find(|(_, v)| *v == n) {
        Some((name, _)) => format!("SIG{name}"),
        None if (35..=49).contains(&n) => format!("SIGRTMIN+{}", n - 34),
        None if (50..64).contains(&n) => format!("SIGRTMAX-{}", 64 - n),
        None => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_as_podman() {
        for (raw, n) in [
            ("KILL", 9),
            ("sigterm", 15),
            ("-1", 1),
            ("-INT", 2),
            ("SIGUSR2", 12),
            ("64", 64),
            ("RTMIN+3", 37),
            ("RTMAX-1", 63),
        ] {
            assert_eq!(signal_number(raw).unwrap(), n, "{raw}");
        }
        for (raw, err) in [
            ("0", "invalid signal: 0"),
            ("-0", "invalid signal: 0"),
            ("SIG", "invalid signal: SIG"),
            ("-BADSIG", "invalid signal: BADSIG"),
            ("-", "invalid signal: "),
            ("65", "valid signals are 1 through 64"),
            ("-65", "valid signals are 1 through 64"),
            ("99999999", "valid signals are 1 through 64"),
        ] {
            assert_eq!(signal_number(raw).unwrap_err().to_string(), err, "{raw}");
        }
        assert_eq!(signal_name(rustix::process::Signal::TERM), "SIGTERM");
    }
}
