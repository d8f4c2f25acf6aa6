//! `top CONTAINER [DESCRIPTORS|PS-OPTIONS]`.

use super::{Ctx, exit};
use crate::engine::top::{Listing, list};
use clap::Args;

#[derive(Args)]
pub struct TopArgs {
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
    /// psgo descriptors (args,capamb,capbnd,capeff,capinh,capprm,comm,etime,group,groups,hgroup,hgroups,hpid,huser,label,nice,pcpu,pgid,pid,ppid,rgroup,rss,ruser,seccomp,state,stime,time,tty,user,vsz) or ps(1) options, run in the container
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub descriptors: Vec<String>,
    /// Show the latest container created (the first word is then a descriptor)
    #[arg(short, long)]
    pub latest: bool,
}

pub fn run(ctx: &Ctx, mut a: TopArgs) -> anyhow::Result<()> {
    let engine = ctx.engine()?;
    let name = if a.latest {
        if let Some(first) = a.container.take() {
            a.descriptors.insert(0, first);
        }
        super::latest_container(&engine)?
    } else {
        a.container.clone().unwrap_or_default()
    };
    let c = engine.container(&name)?;
    match list(&engine, &c, &a.descriptors).map_err(|e| exit(125, e.to_string()))? {
        Listing::Table { titles, rows } => print_table(&titles, &rows),
        Listing::Lines(lines) => {
            for l in lines {
                println!("{l}");
            }
        }
    }
    Ok(())
}

/// A process table, its columns aligned (top and pod top).
pub fn print_table(titles: &[&str], rows: &[Vec<String>]) {
    let mut out = titles.join("\t");
    out.push('\n');
    for r in rows {
        out.push_str(&r.join("\t"));
        out.push('\n');
    }
    print!("{}", crate::format::template::tabwrite(&out));
}
