//! Talking to registries: references, registries.conf, credentials, the
//! HTTP client, and the pull and push flows.

pub mod auth;
pub mod client;
pub mod config;
pub mod pull;
pub mod push;
pub mod reference;

pub use client::{Access, Client, RegistryError};
pub use config::RegistriesConf;
pub use reference::Reference;

/// What a pull or push tells the user as it goes. The command layer picks
/// an implementation: quiet, one line per step, or progress bars on a TTY.
pub trait Reporter: Sync {
    fn trying(&self, reference: &str);
    fn copying_blob(
        &self,
        digest: &crate::digest::Digest,
        size: Option<u64>,
    ) -> Box<dyn Fn(u64) + Send + Sync + '_>;
    fn blob_done(&self, digest: &crate::digest::Digest, skipped: bool);
    fn copying_config(&self, digest: &crate::digest::Digest);
    fn writing_manifest(&self);
}

/// Credentials and transport choices shared by pull, push and login.
#[derive(Debug, Clone, Default)]
pub struct RemoteOptions {
    /// `--tls-verify=false`: plain HTTP for every registry involved.
    pub tls_verify: Option<bool>,
    pub authfile: Option<std::path::PathBuf>,
    /// `--creds user:pass`, overriding stored credentials.
    pub creds: Option<auth::Credentials>,
}

impl RemoteOptions {
    /// Log in to registry `host` with these options' credentials: the
    /// registry's ping (its token or basic auth) must accept them.
    pub fn check_login(&self, host: &str) -> Result<(), String> {
        let conf = RegistriesConf::load().map_err(|e| e.to_string())?;
        let client = self
            .client(
                &conf,
                &config::Endpoint {
                    host: host.to_string(),
                    insecure: false,
                },
                "",
                Access::Pull,
            )
            .map_err(|e| e.to_string())?;
        client.ping().map_err(|e| e.to_string())
    }

    pub fn client(
        &self,
        conf: &RegistriesConf,
        endpoint: &config::Endpoint,
        repo: &str,
        access: Access,
    ) -> Result<Client, auth::AuthFileError> {
        let mut ep = endpoint.clone();
        match self.tls_verify {
            Some(false) => ep.insecure = true,
            Some(true) => ep.insecure = false,
            None => ep.insecure |= conf.insecure(&ep.host),
        }
        let creds = match &self.creds {
            Some(c) => Some(c.clone()),
            None => auth::lookup(
                &auth::lookup_files(self.authfile.as_deref()),
                &ep.host,
                &format!("{}/{repo}", ep.host),
            )?,
        };
        Ok(Client::new(&ep, creds, access))
    }
}

/// Counts bytes as they stream (pull and push progress).
pub(crate) struct Counting<'a, R> {
    pub inner: R,
    pub tick: &'a (dyn Fn(u64) + Send + Sync),
}

impl<R: std::io::Read> std::io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.tick)(n as u64);
        Ok(n)
    }
}
