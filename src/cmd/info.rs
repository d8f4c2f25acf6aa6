use super::Ctx;
use crate::format::template::render_one;
use crate::registry::RegistriesConf;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub struct VersionArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

/// When this binary was built, and in Go's time.ANSIC as podman prints
/// `Built:`.
fn built() -> (i64, String) {
    let secs = crate::process::built();
    (secs, ansic(secs))
}

/// Go's time.ANSIC layout, "Mon Jan _2 15:04:05 2006", in UTC.
fn ansic(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let r = crate::format::units::rfc3339(secs);
    let month: usize = r[5..7].parse().unwrap_or(1);
    let day: u32 = r[8..10].parse().unwrap_or(1);
    format!(
        "{} {} {day:>2} {} {}",
        DAYS[secs.div_euclid(86400).rem_euclid(7) as usize],
        MONTHS[month.clamp(1, 12) - 1],
        &r[11..19],
        &r[..4]
    )
}

fn version_json() -> Value {
    let (built, built_time) = built();
    json!({
        "Client": {
            "APIVersion": super::PODMAN_VERSION,
            "Version": super::PODMAN_VERSION,
            "GoVersion": "",
            "GitCommit": "",
            "BuiltTime": built_time,
            "Built": built,
            "OsArch": format!("linux/{}", crate::image::Platform::host().architecture),
            "Os": "linux",
        }
    })
}

pub fn version(_ctx: &Ctx, a: VersionArgs) -> anyhow::Result<()> {
    crate::format::set_origin(crate::format::Origin::VERSION);
    let v = version_json();
    match a.format.as_deref().map(str::trim) {
        Some("json") => println!("{}", serde_json::to_string_pretty(&v)?),
        Some(f) => {
            // Local podman answers `.Server` with its own version too
            // (there is no service in between); JSON leaves it out.
            let mut t = v.clone();
            t["Server"] = v["Client"].clone();
            print!("{}", render_one(f, &t)?)
        }
        None => {
            let c = &v["Client"];
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            println!("Client:       berth {}", env!("CARGO_PKG_VERSION"));
            println!("Version:      {}", s("Version"));
            println!("API Version:  {}", s("APIVersion"));
            println!("Go Version:   none (berth is written in Rust)");
            println!("Built:        {}", s("BuiltTime"));
            println!("OS/Arch:      {}", s("OsArch"));
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct InfoArgs {
    /// Change the output format to JSON or a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

/// cgroup version as the kernel presents it: v2 when the unified hierarchy
/// is mounted at /sys/fs/cgroup, else v1 (hybrid hosts included).
fn cgroup_version() -> &'static str {
    match rustix::fs::statfs("/sys/fs/cgroup") {
        Ok(s) if s.f_type == 0x6367_7270 => "v2",
        _ => "v1",
    }
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The document `info` prints: podman's field names, so templates like
/// `{{.Host.CgroupsVersion}}` and `{{.Store.GraphRoot}}` work.
fn info_json(ctx: &Ctx) -> anyhow::Result<Value> {
    let engine = ctx.engine()?;
    let images = engine.images()?;
    let containers = engine.containers()?;
    let conf = RegistriesConf::load().unwrap_or_default();
    let uname = rustix::system::uname();
    let os_release = read_trim("/etc/os-release");
    let distro = |k: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("")
            .trim_matches('"')
            .to_string()
    };
    let graph_root = engine.paths.root.join("storage");
    let fs_stat = rustix::fs::statvfs(&graph_root).ok();
    Ok(json!({
        "Host": {
            "Arch": crate::image::Platform::host().architecture,
            "CgroupManager": "cgroupfs",
            "CgroupsVersion": cgroup_version(),
            "CPUs": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            // berth records no event log.
            "EventLogger": "none",
            "LogDriver": "k8s-file",
            "NetworkBackend": "berth",
            "OCIRuntime": {
                "Name": "berth",
                "Package": format!("berth {}", env!("CARGO_PKG_VERSION")),
                "Path": std::env::current_exe().unwrap_or_default(),
                "Version": format!("berth {} (built-in runtime)", env!("CARGO_PKG_VERSION")),
            },
            "BuildahVersion": format!("berth {}", env!("CARGO_PKG_VERSION")),
            "Distribution": { "Distribution": distro("ID"), "Version": distro("VERSION_ID"), "Codename": distro("VERSION_CODENAME") },
            "Hostname": uname.nodename().to_string_lossy(),
            "Kernel": uname.release().to_string_lossy(),
            "MemTotal": crate::engine::stats::host_memory(),
            "OS": "linux",
            "Security": { "Rootless": engine.paths.rootless },
            "Uptime": read_trim("/proc/uptime").split('.').next().unwrap_or("").to_string() + "s",
        },
        "Store": {
            "ConfigFile": "",
            "ContainerStore": {
                "Number": containers.len(),
                "Paused": containers.iter().filter(|c| c.state == "paused").count(),
                "Running": containers.iter().filter(|c| c.state == "running").count(),
                "Stopped": containers.iter().filter(|c| !c.is_running()).count(),
            },
            "GraphDriverName": "overlay",
            "GraphRoot": graph_root,
            "GraphRootAllocated": fs_stat.as_ref().map(|s| s.f_blocks * s.f_frsize).unwrap_or(0),
            "GraphRootUsed": fs_stat.as_ref().map(|s| (s.f_blocks - s.f_bfree) * s.f_frsize).unwrap_or(0),
            "ImageStore": { "Number": images.len() },
            "RunRoot": engine.paths.runroot,
            "DatabasePath": engine.paths.db(),
        },
        "Registries": { "Search": conf.unqualified_search_registries },
        "Version": version_json()["Client"].clone(),
    }))
}

/// podman prints info as YAML with lower-camel keys.
fn yaml_keys(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = match k.as_str() {
                        "CPUs" => "cpus".to_string(),
                        "OS" => "os".to_string(),
                        _ => c
                            .next()
                            .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                            .unwrap_or_default(),
                    };
                    (key, yaml_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(yaml_keys).collect()),
        other => other.clone(),
    }
}

/// A JSON value serialized as podman's YAML output: strings that would read
/// back as another type are single-quoted (as go-yaml and serde_yaml do),
/// other strings plain.
struct PodmanYaml<'a>(&'a Value);

impl serde::Serialize for PodmanYaml<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::String(t) if needs_quotes(t) => {
                serde_saphyr::SingleQuoted(t.as_str()).serialize(s)
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&PodmanYaml(x))?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, x) in o {
                    map.serialize_entry(k, &PodmanYaml(x))?;
                }
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Whether libyaml (serde_yaml's and go-yaml's emitter) single-quotes a
/// string: one a YAML 1.1 reader would take as null, a boolean or a number,
/// or one that cannot be a plain block scalar (a leading indicator, `: `,
/// ` #`, edge spaces). Strings with control characters or line breaks are
/// left to the serializer's double quotes, as libyaml does.
fn needs_quotes(t: &str) -> bool {
    if t.chars().any(|c| c.is_control()) {
        return false;
    }
    let first = t.chars().next().unwrap_or(' ');
    let second_blank = t.chars().nth(1).is_none_or(|c| c == ' ');
    let not_plain = first == ' '
        || t.ends_with(' ')
        || t.ends_with(':')
        || t.contains(": ")
        || t.contains(" #")
        || t.starts_with("---")
        || ",[]{}#&*!|>'\"%@`".contains(first)
        || ("-?:".contains(first) && second_blank);
    let l = t.to_ascii_lowercase();
    t.is_empty()
        || not_plain
        || matches!(
            l.as_str(),
            "~" | "null"
                | "true"
                | "false"
                | "yes"
                | "no"
                | "on"
                | "off"
                | "y"
                | "n"
                | ".nan"
                | ".inf"
                | "-.inf"
                | "+.inf"
        )
        || t.parse::<f64>().is_ok()
        || t.parse::<i64>().is_ok()
}

fn yaml_text(v: &Value) -> anyhow::Result<String> {
    let opts = serde_saphyr::ser_options! { yaml_12: true, no_lang_directive: true };
    Ok(serde_saphyr::to_string_with_options(&PodmanYaml(v), opts)?)
}

pub fn info(ctx: &Ctx, a: InfoArgs) -> anyhow::Result<()> {
    crate::format::set_origin(crate::format::Origin::INFO);
    let v = info_json(ctx)?;
    match a.format.as_deref().map(str::trim) {
        Some("json") => println!("{}", serde_json::to_string_pretty(&yaml_keys(&v))?),
        Some(f) => print!("{}", render_one(f, &v)?),
        None => print!("{}", yaml_text(&yaml_keys(&v))?),
    }
    Ok(())
}

#[cfg(test)]
mod yaml_tests {
    use super::yaml_text;
    use serde_json::json;

    #[test]
    fn strings_are_quoted_as_serde_yaml_quoted_them() {
        let v = json!({
            "a": "x: y", "b": "", "c": "4.3.1", "d": "-x", "e": "12", "f": "no",
            "g": "/var/lib", "h": "*star", "i": " lead", "j": "- item", "k": "a #b",
        });
        let want = "a: 'x: y'\nb: ''\nc: 4.3.1\nd: -x\ne: '12'\nf: 'no'\ng: /var/lib\nh: '*star'\ni: ' lead'\nj: '- item'\nk: 'a #b'\n";
        assert_eq!(yaml_text(&v).unwrap(), want);
    }
}
