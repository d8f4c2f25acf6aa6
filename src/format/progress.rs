//! Reporting pull/push progress: nothing (`-q`), podman-style lines when
//! stderr is not a terminal, progress bars when it is.

use crate::digest::Digest;
use crate::registry::Reporter;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};

pub enum Progress {
    Quiet,
    Lines,
    Bars(MultiProgress),
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            Progress::Bars(MultiProgress::new())
        } else {
            Progress::Lines
        }
    }

    fn line(&self, s: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Lines => {
                let _ = writeln!(std::io::stderr(), "{s}");
            }
            Progress::Bars(m) => {
                let _ = m.println(s);
            }
        }
    }
}

impl Reporter for Progress {
    fn trying(&self, reference: &str) {
        self.line(&format!("Trying to pull {reference}..."));
    }

    fn copying_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
    ) -> Box<dyn Fn(u64) + Send + Sync + '_> {
        match self {
            Progress::Bars(m) => {
                // Finished (full) when the fetch lets go of it.
                let bar = m.add(
                    ProgressBar::new(size.unwrap_or(0))
                        .with_finish(indicatif::ProgressFinish::AndLeave),
                );
                bar.set_style(
                    ProgressStyle::with_template(
                        "Copying blob {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_message(digest.short().to_string());
                Box::new(move |n| bar.inc(n))
            }
            _ => {
                self.line(&format!("Copying blob {}", digest.short()));
                Box::new(|_| {})
            }
        }
    }

    fn blob_done(&self, digest: &Digest, skipped: bool) {
        if skipped {
            self.line(&format!(
                "Copying blob {} skipped: already exists",
                digest.short()
            ));
        } else if matches!(self, Progress::Lines) {
            self.line(&format!("Copying blob {} done", digest.short()));
        }
    }

    fn copying_config(&self, digest: &Digest) {
        self.line(&format!("Copying config {} done", digest.short()));
    }

    fn writing_manifest(&self) {
        self.line("Writing manifest to image destination");
    }
}
