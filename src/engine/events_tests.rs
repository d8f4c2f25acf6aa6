use super::*;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("berth-events-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn lines_are_podmans_json() {
    let mut e = Event::image("pull", "", "busybox");
    e.time = 1_649_237_202_723_667_900;
    let line = serde_json::to_string(&e).unwrap();
    // Field order, omitted empties and null attributes as Go writes them
    // (the zone is the test's: UTC unless TZ says otherwise).
    if local_zone(0).0 == 0 {
        assert_eq!(
            line,
            r#"{"Name":"busybox","Status":"pull","Time":"2022-04-06T09:26:42.7236679Z","Type":"image","Attributes":null}"#
        );
    }
    let back: Event = serde_json::from_str(&line).unwrap();
    assert_eq!(back, e);
    let mut d = Event::new(CONTAINER, "died");
    d.exit_code = 17;
    d.id = "abc".into();
    d.attributes = Some(BTreeMap::from([("l".to_string(), "v w".to_string())]));
    let line = serde_json::to_string(&d).unwrap();
    assert!(line.starts_with(r#"{"ContainerExitCode":17,"ID":"abc","Status":"died""#));
    assert!(line.ends_with(r#""Type":"container","Attributes":{"l":"v w"}}"#));
    // podman's own lines (a nanosecond time with an offset) read back.
    let theirs = r#"{"Name":"busybox","Status":"pull","Time":"2022-04-06T11:26:42.723667901+02:00","Type":"image","Attributes":null}"#;
    let e: Event = serde_json::from_str(theirs).unwrap();
    assert_eq!(e.time, 1_649_237_202_723_667_901);
}

#[test]
fn human_lines_as_podman_prints_them() {
    let mut e = Event::new(CONTAINER, "start");
    e.id = "0123456789abcdef".into();
    e.image = "busybox".into();
    e.name = "c1".into();
    e.attributes = Some(BTreeMap::from([("a".to_string(), "b".to_string())]));
    let h = e.human(true);
    assert!(
        h.ends_with(" container start 0123456789ab (image=busybox, name=c1, a=b)"),
        "{h}"
    );
    let mut i = Event::image("pull", "", "docker-archive:/x.tar");
    i.time = 0;
    if local_zone(0).0 == 0 {
        assert_eq!(
            i.human(false),
            "1970-01-01 00:00:00 +0000 UTC image pull  docker-archive:/x.tar"
        );
        assert_eq!(go_time(1_500_000_000), "1970-01-01 00:00:01.5 +0000 UTC");
    }
    let n = Event::network("connect", "cid", "net1");
    assert!(
        n.human(false)
            .ends_with("network connect cid (container=cid, name=net1)")
    );
    let v = Event::volume("create", "v1");
    assert!(v.human(false).ends_with("volume create v1"));
}

#[test]
fn rotation_keeps_the_second_half_then_says_so() {
    let d = temp("rotate");
    let log = d.join("events.log");
    // 100 lines of 113 bytes, as podman's "events log-file rotation" test.
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&format!(
            "{{\"Name\":\"busybox\",\"Status\":\"pull\",\"Time\":\"2022-04-06T11:26:42.7236679{i:02}+02:00\",\"Type\":\"image\",\"Attributes\":null}}\n"
        ));
    }
    assert_eq!(text.len(), 11300);
    std::fs::write(&log, &text).unwrap();
    // Under the limit nothing moves.
    append(&log, 0, &Event::volume("create", "v")).unwrap();
    assert!(std::fs::read_to_string(&log).unwrap().starts_with(&text));
    std::fs::write(&log, &text).unwrap();
    append(&log, 4750, &Event::volume("remove", "v")).unwrap();
    let after = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(lines.len(), 51, "{after}");
    let old: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..49], old[51..]);
    let rot: Event = serde_json::from_str(lines[49]).unwrap();
    assert_eq!((rot.kind.as_str(), rot.status.as_str()), (SYSTEM, ROTATE));
    assert_eq!(rot.name, log.display().to_string());
    assert!(lines[50].contains(r#""Status":"remove""#));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn concurrent_writers_leave_whole_lines() {
    let d = temp("concurrent");
    let log = d.join("sub").join("events.log");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let mut e = Event::volume("create", &format!("v{t}-{i}-{}", "x".repeat(300)));
                    e.attributes = Some(BTreeMap::new());
                    // A small limit: rotations happen while others write.
                    append(&log, 64 * 1024, &e).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = std::fs::read_to_string(&log).unwrap();
    for l in text.lines() {
        serde_json::from_str::<Event>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn max_size_takes_bytes_or_units() {
    assert_eq!(max_size(&toml::Value::Integer(4750)), Some(4750));
    assert_eq!(max_size(&toml::Value::String("1m".into())), Some(1_000_000));
    assert_eq!(max_size(&toml::Value::String("0".into())), Some(0));
    assert_eq!(max_size(&toml::Value::String("x".into())), None);
}
