//! Human sizes and durations as docker/go-units prints them, so listings
//! read the same as podman's.

/// go-units HumanSizeWithPrecision(size, 3): decimal units, 3 significant
/// digits, trailing zeros dropped ("%.3g"): "4.27 MB", "427 kB", "1 GB".
pub fn human_size(size: u64) -> String {
    let (v, unit) = decimal_units(size);
    format!("{} {unit}", format_g3(v))
}

/// go-units' scaling: the size divided by 1000 until it is below 1000,
/// with its unit.
fn decimal_units(size: u64) -> (f64, &'static str) {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    (v, UNITS[i])
}

/// go-units HumanSize (HumanSizeWithPrecision(size, 4)): decimal units,
/// "%.4g" and no space: 3033000 -> "3.033MB", 0 -> "0B" (podman's
/// inspect LogConfig.Size).
pub fn human_size_4(size: u64) -> String {
    let (v, unit) = decimal_units(size);
    let num = if v == 0.0 {
        "0".to_string()
    } else {
        let decimals = (3 - v.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    format!("{num}{unit}")
}

/// C's "%.3g" for 0 <= v < 1000.
fn format_g3(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = v.abs().log10().floor() as i32;
    let decimals = (2 - digits).max(0) as usize;
    let s = format!("{v:.decimals$}");
    // Rounding can carry into a new digit (999.5 -> "1000"); %g would switch
    // to exponent form there, go-units never gets that far since it divides first.
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// go-units HumanDuration.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let minutes = (s as f64 / 60.0).round() as i64;
    let hours = (s as f64 / 3600.0).round() as i64;
    if s < 1 {
        "Less than a second".into()
    } else if s == 1 {
        "1 second".into()
    } else if s < 60 {
        format!("{s} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", hours / 24 / 365)
    }
}

/// Parse RFC 3339 ("2024-01-02T03:04:05.123456789Z", offsets allowed) into
/// Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o[1..3].parse::<i64>().ok()? * 3600 + o[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Unix seconds to RFC 3339 UTC ("2024-01-02T03:04:05Z").
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Go's time.Time String() as podman prints CreatedAt:
/// "2024-01-02 03:04:05 +0000 UTC".
pub fn go_time(secs: i64) -> String {
    let r = rfc3339(secs);
    format!("{} {} +0000 UTC", &r[..10], &r[11..19])
}

/// go-units FromHumanSize: decimal units (k = 1000), an optional `i` and
/// `b`, as podman reads `--log-opt max-size` and
/// `events_logfile_max_size`.
pub fn from_human_size(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let t = t.strip_suffix('i').unwrap_or(t);
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1e3),
        'm' => (&t[..t.len() - 1], 1e6),
        'g' => (&t[..t.len() - 1], 1e9),
        't' => (&t[..t.len() - 1], 1e12),
        'p' => (&t[..t.len() - 1], 1e15),
        _ => (t, 1.0),
    };
    let v: f64 = num.trim_end().parse().ok()?;
    (v >= 0.0 && v.is_finite()).then_some((v * mult) as u64)
}

/// Go's time.ParseDuration ("1h30m", "-5m", "300ms", "1.5h"), in nanoseconds:
/// what podman's duration flags, `events --since` and HEALTHCHECK take.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let v: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[u..];
        total += v * mult;
    }
    let d = total as i64;
    Some(if neg { -d } else { d })
}

/// Go's time.Duration String (`stats` CPU time, `top` ELAPSED/TIME): "0s", "750ns", "1.5µs", "28.361138ms",
/// "2m3.5s", "1h0m0s".
pub fn go_duration(ns: u64) -> String {
    fn frac(v: u64, unit: u64, digits: usize) -> String {
        let f = format!("{:0digits$}", v % unit);
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            (v / unit).to_string()
        } else {
            format!("{}.{f}", v / unit)
        }
    }
    match ns {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 1_000, 3)),
        n if n < 1_000_000_000 => format!("{}ms", frac(n, 1_000_000, 6)),
        n => {
            let secs = frac(n % 60_000_000_000, 1_000_000_000, 9);
            let mins = n / 60_000_000_000;
            match (mins / 60, mins % 60) {
                (0, 0) => format!("{secs}s"),
                (0, m) => format!("{m}m{secs}s"),
                (h, m) => format!("{h}h{m}m{secs}s"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sizes_as_go_units() {
        assert_eq!(human_size_4(0), "0B");
        assert_eq!(human_size_4(3_033_000), "3.033MB");
        assert_eq!(human_size_4(1_030_000), "1.03MB");
    }

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1000), "1 kB");
        assert_eq!(human_size(4_270_000), "4.27 MB");
        assert_eq!(human_size(4_200_000), "4.2 MB");
        assert_eq!(human_size(42_700_000), "42.7 MB");
        assert_eq!(human_size(427_000_000), "427 MB");
        assert_eq!(human_size(1_500_000_000), "1.5 GB");
    }

    #[test]
    fn durations_match_go_units() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(30), "30 seconds");
        assert_eq!(human_duration(65), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(100 * 86400), "3 months");
        assert_eq!(human_duration(800 * 86400), "2 years");
    }

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-02-29T12:34:56.789Z"), Some(1709210096));
        assert_eq!(parse_rfc3339("2024-02-29T14:34:56+02:00"), Some(1709210096));
        assert_eq!(rfc3339(1709210096), "2024-02-29T12:34:56Z");
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
