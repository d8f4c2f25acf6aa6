use super::*;

#[test]
fn a_container_file_becomes_a_notify_service() {
    let text = "[Unit]\nDescription=web\n\n[Container]\nImage=busybox\nExec=httpd -f -p 80 \\\n  -h /www\nPublishPort=8080:80\nVolume=data.volume:/data\nNetwork=front.network\nEnvironment=A=1 \"B=two words\"\nAddCapability=NET_ADMIN SYS_TIME\nNotify=yes\n\n[Install]\nWantedBy=multi-user.target\n";
    let g = generate(
        Path::new("/etc/containers/systemd/web.container"),
        text,
        "/usr/bin/berth",
        false,
    )
    .unwrap();
    assert_eq!(g.service, "web.service");
    assert_eq!(
        g.links,
        [(
            "multi-user.target.wants".to_string(),
            "web.service".to_string()
        )]
    );
    let start = g
        .text
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .unwrap();
    assert_eq!(
        start,
        "ExecStart=/usr/bin/berth run --name systemd-%N --cidfile=%t/%N.cid --replace --rm --cgroups=split --sdnotify=container -d --env=A=1 \"--env=B=two words\" --cap-add=NET_ADMIN --cap-add=SYS_TIME --publish=8080:80 --volume=systemd-data:/data --network=systemd-front busybox httpd -f -p 80 -h /www"
    );
    for want in [
        "[X-Container]",
        "Requires=data-volume.service",
        "After=front-network.service",
        "Type=notify",
        "SourcePath=/etc/containers/systemd/web.container",
        "Description=web",
    ] {
        assert!(g.text.contains(want), "{want}:\n{}", g.text);
    }
}

#[test]
fn bad_files_are_named() {
    let e = generate(
        Path::new("/x/a.container"),
        "[Container]\nExec=true\n",
        "b",
        false,
    )
    .unwrap_err();
    assert_eq!(e, "/x/a.container: [Container] Image: is required");
    let e = generate(
        Path::new("/x/a.container"),
        "[Container]\nImage=x\nFrobnicate=1\n",
        "b",
        false,
    )
    .unwrap_err();
    assert!(e.contains("Frobnicate: unknown key"), "{e}");
    let e = generate(Path::new("/x/a.volume"), "[Unit]\n", "b", false).unwrap_err();
    assert!(e.contains("no [Volume] section"), "{e}");
    assert_eq!(
        service_name("n.network").as_deref(),
        Some("n-network.service")
    );
    assert_eq!(
        split_words("a 'b c' \"d\\\"e\" $$X"),
        ["a", "b c", "d\"e", "$X"]
    );
}
