use super::*;
use crate::engine::events::{CONTAINER, IMAGE};

fn ctr(name: &str, status: &str, labels: &[(&str, &str)]) -> Event {
    let mut e = Event::new(CONTAINER, status);
    e.id = format!("{name}0123456789");
    e.name = name.into();
    e.attributes = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    e
}

fn f(raw: &[&str]) -> Filters {
    Filters::parse(&raw.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

#[test]
fn same_key_ors_different_keys_and() {
    let foo = ctr("foo", "start", &[]);
    let bar = ctr("bar", "start", &[("a", "b")]);
    let baz = ctr("baz", "died", &[]);
    let both = f(&["container=foo", "container=bar", "event=start"]);
    assert!(both.matches(&foo) && both.matches(&bar) && !both.matches(&baz));
    assert!(f(&["status=died"]).matches(&baz));
    assert!(f(&["label=a=b"]).matches(&bar) && !f(&["label=a=c"]).matches(&bar));
    assert!(f(&["label=a=b", "label=x"]).matches(&bar));
    assert!(f(&["container=bar0123"]).matches(&bar));
    assert!(!f(&["image=bar"]).matches(&bar));
    let img = Event::image("pull", "sha", "busybox");
    assert!(f(&["type=image", "image=busybox"]).matches(&img));
    assert!(f(&["image=sh"]).matches(&img) && !f(&["type=container"]).matches(&img));
    assert!(f(&["volume=v"]).matches(&Event::volume("create", "v1")));
    assert!(f(&["network=n1"]).matches(&Event::network("connect", "c", "n1")));
    assert!(Filters::parse(&["nope=1".into()]).is_err());
    assert!(Filters::parse(&["event".into()]).is_err());
    assert_eq!(IMAGE, "image");
}

#[test]
fn times_as_podman_reads_them() {
    let now = 1_700_000_000_000_000_000;
    assert_eq!(
        parse_time("2022-04-06T11:26:42.723667984+02:00", true, now),
        Ok(1_649_237_202_723_667_984)
    );
    assert_eq!(
        parse_time("2022-04-06T09:26:42Z", true, now),
        Ok(1_649_237_202_000_000_000)
    );
    assert_eq!(
        parse_time("2022-04-06", true, now),
        Ok(1_649_203_200_000_000_000)
    );
    assert_eq!(
        parse_time("1649237202", true, now),
        Ok(1_649_237_202_000_000_000)
    );
    assert_eq!(
        parse_time("1649237202.5", true, now),
        Ok(1_649_237_202_500_000_000)
    );
    assert_eq!(parse_time("5m", true, now), Ok(now - 300_000_000_000));
    assert_eq!(parse_time("1h30s", false, now), Ok(now + 3_630_000_000_000));
    assert_eq!(parse_go_duration("1.5h"), Some(5_400_000_000_000));
    assert_eq!(parse_go_duration("300ms"), Some(300_000_000));
    assert_eq!(parse_go_duration("5"), None);
    assert!(parse_time("garbage", true, now).is_err());
}

#[test]
fn a_follower_reads_across_rotations() {
    let d = std::env::temp_dir().join(format!("berth-follow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let log = d.join("events.log");
    let q = Query {
        filters: Filters::default(),
        since: Some(0),
        until: None,
    };
    let mut seen: Vec<String> = Vec::new();
    let mut tail = Tail::open(&log, true);
    for i in 0..300 {
        let e = Event::volume("create", &format!("v{i}"));
        crate::engine::events::append(&log, 4000, &e).unwrap();
        if i % 7 == 0 {
            tail.drain(&log, &q, &mut |e| {
                seen.push(format!("{} {}", e.status, e.name));
                true
            });
        }
    }
    tail.drain(&log, &q, &mut |e| {
        seen.push(format!("{} {}", e.status, e.name));
        true
    });
    let creates: Vec<&String> = seen.iter().filter(|s| s.starts_with("create")).collect();
    assert_eq!(creates.len(), 300, "{seen:?}");
    for (i, s) in creates.iter().enumerate() {
        assert_eq!(**s, format!("create v{i}"));
    }
    assert!(seen.iter().any(|s| s.starts_with("log-rotation")));
    std::fs::remove_dir_all(&d).unwrap();
}
