//! The sending sites, as the DIMSE acceptor and the forwarding rules see
//! them: kept in the
//! database (`pacs site add`, and the configuration file's `[[sites]]`
//! written there at start), read into memory and refreshed every few
//! seconds, so that a site added on one node is admitted by all.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use pacs_core::forward::Priority;
use pacs_core::workflow::{SiteRecord, StudyScope, Workflow};
use tokio_util::sync::CancellationToken;

/// How often the list is read again.
const REFRESH: Duration = Duration::from_secs(5);

pub struct Sites {
    store: Arc<dyn Workflow>,
    known: RwLock<Vec<SiteRecord>>,
    /// Whether any account exists: then DICOM callers must be a site's.
    accounts: AtomicBool,
}

impl Sites {
    pub async fn load(store: Arc<dyn Workflow>) -> Result<Arc<Sites>, pacs_core::IndexError> {
        let known = store.sites().await?;
        let accounts = AtomicBool::new(store.account_count().await? > 0);
        Ok(Arc::new(Sites {
            store,
            known: RwLock::new(known),
            accounts,
        }))
    }

    /// Reads the list again until `shutdown`.
    pub async fn refresh(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(REFRESH) => {}
            }
            match self.store.sites().await {
                Ok(list) => {
                    if let Ok(mut known) = self.known.write() {
                        *known = list;
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot read the sites"),
            }
            if let Ok(n) = self.store.account_count().await {
                self.accounts.store(n > 0, Ordering::Relaxed);
            }
        }
    }

    /// The site a DICOM caller belongs to: `Ok(None)` when neither sites
    /// nor accounts exist (everyone is welcome, as on an archive without
    /// accounts), `Err` when it matches none.
    pub fn of_caller(
        &self,
        calling_ae_title: &str,
        ip: IpAddr,
    ) -> Result<Option<SiteRecord>, String> {
        let known = self
            .known
            .read()
            .map_err(|_| "the site list is unavailable".to_owned())?;
        if known.is_empty() {
            if self.accounts.load(Ordering::Relaxed) {
                return Err(
                    "this archive has accounts but no sites: DICOM callers must belong to a site (pacs site add)"
                        .into(),
                );
            }
            return Ok(None);
        }
        let calling = calling_ae_title.trim();
        for site in known.iter() {
            if site.ae_titles.iter().any(|a| a.trim() == calling) {
                let allowed = site.addresses.is_empty()
                    || site
                        .addresses
                        .iter()
                        .any(|a| a.parse::<IpAddr>().is_ok_and(|a| a == ip));
                if allowed {
                    return Ok(Some(site.clone()));
                }
                return Err(format!(
                    "calling AE title {calling} belongs to site {} but {ip} is not one of its addresses",
                    site.name
                ));
            }
        }
        Err(format!(
            "calling AE title {calling:?} is not configured for any site"
        ))
    }

    /// The reading priority of the site named `name`, `None` for no such
    /// site.
    pub fn priority_of(&self, name: &str) -> Option<Priority> {
        let known = self.known.read().ok()?;
        known.iter().find(|s| s.name == name).map(|s| s.priority)
    }

    /// The name of the site whose AE titles include `ae_title`, whatever
    /// address it called from: for instances whose caller is known only
    /// from the file meta group they were stored with.
    pub fn named_by_ae_title(&self, ae_title: &str) -> Option<String> {
        let ae_title = ae_title.trim();
        let known = self.known.read().ok()?;
        known
            .iter()
            .find(|s| s.ae_titles.iter().any(|a| a.trim() == ae_title))
            .map(|s| s.name.clone())
    }

    /// Whether a site named `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.known
            .read()
            .is_ok_and(|known| known.iter().any(|s| s.name == name))
    }

    /// The studies a DICOM caller may query and retrieve.
    pub fn scope_of(&self, calling_ae_title: &str, ip: IpAddr) -> Result<StudyScope, String> {
        Ok(match self.of_caller(calling_ae_title, ip)? {
            Some(site) => StudyScope::Sites(vec![site.name]),
            None => StudyScope::All,
        })
    }
}
