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
        site_of(&known, calling_ae_title, ip).cloned().map(Some)
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
        let mut named = known
            .iter()
            .filter(|s| s.ae_titles.iter().any(|a| a.trim() == ae_title));
        // Several sites share the title (told apart by address): which
        // one cannot be said from the title alone.
        match (named.next(), named.next()) {
            (Some(site), None) => Some(site.name.clone()),
            _ => None,
        }
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

/// The site among `known` whose AE titles include `calling` and whose
/// addresses admit `ip`. Two hospitals may give their modalities the same
/// AE title and be told apart by address: a site listing the address
/// wins over one admitting any address, and a caller two sites would
/// admit alike is refused rather than filed under either.
fn site_of<'a>(
    known: &'a [SiteRecord],
    calling: &str,
    ip: IpAddr,
) -> Result<&'a SiteRecord, String> {
    let calling = calling.trim();
    let named: Vec<&SiteRecord> = known
        .iter()
        .filter(|s| s.ae_titles.iter().any(|a| a.trim() == calling))
        .collect();
    if named.is_empty() {
        return Err(format!(
            "calling AE title {calling:?} is not configured for any site"
        ));
    }
    let lists = |s: &SiteRecord| {
        s.addresses
            .iter()
            .any(|a| a.parse::<IpAddr>().is_ok_and(|a| a == ip))
    };
    let by_address: Vec<&SiteRecord> = named.iter().copied().filter(|s| lists(s)).collect();
    let admitting = if by_address.is_empty() {
        named
            .iter()
            .copied()
            .filter(|s| s.addresses.is_empty())
            .collect()
    } else {
        by_address
    };
    let names = |sites: &[&SiteRecord]| {
        sites
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match admitting.as_slice() {
        [site] => Ok(site),
        [] => Err(format!(
            "calling AE title {calling} belongs to site {} but {ip} is not one of its addresses",
            names(&named)
        )),
        several => Err(format!(
            "calling AE title {calling} from {ip} is admitted by sites {} alike: give each \
             site its addresses (pacs site add --address)",
            names(several)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str, ae_titles: &[&str], addresses: &[&str]) -> SiteRecord {
        SiteRecord {
            name: name.into(),
            ae_titles: ae_titles.iter().map(|a| (*a).into()).collect(),
            addresses: addresses.iter().map(|a| (*a).into()).collect(),
            priority: Priority::Routine,
        }
    }

    fn name_of(known: &[SiteRecord], calling: &str, ip: &str) -> Result<String, String> {
        site_of(known, calling, ip.parse().unwrap()).map(|s| s.name.clone())
    }

    #[test]
    fn a_shared_ae_title_is_told_apart_by_address() {
        let known = [
            site("andijan", &["CT"], &["10.0.0.2"]),
            site("fergana", &["CT", "DX"], &["10.0.0.1"]),
        ];
        assert_eq!(name_of(&known, "CT", "10.0.0.1").unwrap(), "fergana");
        assert_eq!(name_of(&known, "CT ", "10.0.0.2").unwrap(), "andijan");
        let refused = name_of(&known, "CT", "10.0.0.3").unwrap_err();
        assert!(refused.contains("andijan, fergana"), "{refused}");
        assert!(
            name_of(&known, "MR", "10.0.0.1")
                .unwrap_err()
                .contains("any site")
        );
    }

    #[test]
    fn a_listed_address_wins_and_a_tie_is_refused() {
        let known = [
            site("anywhere", &["CT"], &[]),
            site("fergana", &["CT"], &["10.0.0.1"]),
        ];
        assert_eq!(name_of(&known, "CT", "10.0.0.1").unwrap(), "fergana");
        assert_eq!(name_of(&known, "CT", "10.0.0.9").unwrap(), "anywhere");
        let tie = [site("a", &["CT"], &[]), site("b", &["CT"], &[])];
        let refused = name_of(&tie, "CT", "10.0.0.1").unwrap_err();
        assert!(refused.contains("alike"), "{refused}");
    }
}
