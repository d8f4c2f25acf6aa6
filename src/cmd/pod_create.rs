//! `pod create`'s flags and the pod they ask for: the infra container's
//! network, ports, DNS and hosts read as run's flags are.

use crate::engine::pods::PodSpec;
use clap::Args;

#[derive(Args, Default)]
pub struct CreateArgs {
    /// Name of the pod (or give it as the argument)
    #[arg(short, long)]
    pub name: Option<String>,
    /// Name of the pod
    #[arg(value_name = "NAME")]
    pub name_arg: Option<String>,
    /// Publish a port of the pod to the host ([[IP:][HOSTPORT]:]CTRPORT[/PROTO])
    #[arg(short = 'p', long)]
    pub publish: Vec<String>,
    /// The pod's network (as run's --network)
    #[arg(long, visible_alias = "net")]
    pub network: Vec<String>,
    /// Aliases of the pod on its network
    #[arg(long)]
    pub network_alias: Vec<String>,
    /// The pod's IP address on its network
    #[arg(long)]
    pub ip: Option<String>,
    /// The pod's MAC address on its network
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Namespaces the containers share (of ipc, net, pid, uts; +NS adds to the default)
    #[arg(long, default_value = "ipc,net,uts")]
    pub share: String,
    /// The pod's hostname (default: its name)
    #[arg(long)]
    pub hostname: Option<String>,
    /// Set metadata on the pod (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Create an infra container holding the shared namespaces
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub infra: bool,
    /// The infra container's command (berth's own pause only shows it)
    #[arg(long)]
    pub infra_command: Option<String>,
    /// An image to run the infra container from, instead of berth's own pause
    #[arg(long)]
    pub infra_image: Option<String>,
    /// The infra container's name
    #[arg(long)]
    pub infra_name: Option<String>,
    /// Add a custom host-to-IP mapping (HOST:IP) to the pod's /etc/hosts
    #[arg(long)]
    pub add_host: Vec<String>,
    /// DNS servers of the pod
    #[arg(long)]
    pub dns: Vec<String>,
    /// DNS search domains of the pod
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// DNS options of the pod
    #[arg(long)]
    pub dns_option: Vec<String>,
    /// Do not write /etc/hosts in the pod
    #[arg(long)]
    pub no_hosts: bool,
    /// What happens when the last container exits: continue or stop
    #[arg(long, default_value = "continue")]
    pub exit_policy: String,
    /// Replace a pod of the same name
    #[arg(long)]
    pub replace: bool,
    /// Write the pod's ID to this file
    #[arg(long)]
    pub pod_id_file: Option<std::path::PathBuf>,
}

/// `pod create`'s flags: the infra container's network, ports, DNS and
/// hosts read as run's flags are.
pub(super) fn pod_spec(a: &CreateArgs) -> anyhow::Result<PodSpec> {
    let infra = super::run::CreateArgs {
        network: a.network.clone(),
        publish: a.publish.clone(),
        network_alias: a.network_alias.clone(),
        ip: a.ip.clone(),
        mac_address: a.mac_address.clone(),
        add_host: a.add_host.clone(),
        dns: a.dns.clone(),
        dns_search: a.dns_search.clone(),
        dns_option: a.dns_option.clone(),
        no_hosts: a.no_hosts,
        image: crate::engine::pods::pause_image(),
        log_driver: "k8s-file".into(),
        restart: "no".into(),
        stop_timeout: Some(10),
        ..Default::default()
    };
    // podman 4: `+NS` adds to the default set; cgroup is every
    // container's own here.
    let mut share: Vec<String> = match a.share.strip_prefix('+') {
        Some(_) => ["ipc", "net", "uts"].map(String::from).to_vec(),
        None => Vec::new(),
    };
    for s in a.share.trim_start_matches('+').split(',').map(str::trim) {
        if !s.is_empty() && s != "none" && s != "cgroup" && !share.iter().any(|x| x == s) {
            share.push(s.to_string());
        }
    }
    if !a.infra && (!a.publish.is_empty() || !a.network.is_empty()) {
        anyhow::bail!("you must have an infra container to publish ports or set a network");
    }
    if !["continue", "stop"].contains(&a.exit_policy.as_str()) {
        anyhow::bail!(
            "running pod create option: invalid pod exit policy: {:?}",
            a.exit_policy
        );
    }
    if a.name.is_some() && a.name_arg.is_some() {
        anyhow::bail!("cannot specify --name and NAME at the same time");
    }
    Ok(PodSpec {
        name: a.name.clone().or(a.name_arg.clone()),
        labels: a
            .label
            .iter()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        share,
        hostname: a.hostname.clone(),
        infra: a.infra,
        infra_name: a.infra_name.clone(),
        infra_image: a.infra_image.clone(),
        infra_command: a.infra_command.as_deref().map(super::run_config::words),
        infra_spec: super::run_config::create_spec(&infra)?,
        exit_policy: a.exit_policy.clone(),
        create_command: std::env::args().collect(),
        replace: a.replace,
    })
}
