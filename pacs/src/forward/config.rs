//! Forwarding configuration: destinations (a DICOM node, a DICOMweb
//! endpoint), their limits and schedules, and the rules that send
//! arriving studies to them.
//!
//! ```toml
//! [[forward.destinations]]
//! name = "centre"
//! dicomweb_url = "https://centre.example.org/dicom-web"
//! token_file = "/etc/pacs/centre.token"
//! concurrency = 2
//! bandwidth = [
//!     { during = "08:00-18:00", max_rate = "2 Mbit/s" },  # leave the day's link to others
//!     { max_rate = "20 Mbit/s" },
//! ]
//!
//! [[forward.rules]]
//! to = ["centre"]
//! modalities = ["CT", "DX", "CR"]
//! ```

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use pacs_core::forward::{Arrival, Backoff, ForwardOrder, Priority, wildcard_match};
use serde::Deserialize;

use crate::config::{DicomNode, valid_ae_title};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForward {
    /// This node's name in job leases; default: the host name. Nodes that
    /// share one database need distinct names.
    pub node_name: Option<String>,
    #[serde(default)]
    pub destinations: Vec<RawDestination>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDestination {
    pub name: String,
    /// The AE title of a `[[dicom_nodes]]` entry: send over C-STORE.
    pub dicom_node: Option<String>,
    /// A DICOMweb base URL (the part before `/studies`): send over STOW-RS.
    pub dicomweb_url: Option<String>,
    /// Another `pacs` (its base URL, e.g. `https://centre.example.org`):
    /// send packed, resumable uploads built for poor links.
    pub peer_url: Option<String>,
    /// For a peer: store the instances there in this lossless transfer
    /// syntax (explicit VR little endian, JPEG-LS lossless or RLE) rather
    /// than as they were sent.
    pub store_as: Option<String>,
    /// A file holding the bearer token for the DICOMweb endpoint or peer. The
    /// environment variable `PACS_FORWARD_TOKEN_<NAME>` (the name in upper
    /// case, other characters as `_`) wins over it. An endpoint that wants
    /// HTTP Basic takes `https://user:password@host/...` in its URL instead.
    pub token_file: Option<PathBuf>,
    /// Jobs of this destination sent at once, across every node.
    pub concurrency: Option<usize>,
    pub max_attempts: Option<u32>,
    pub retry_initial_secs: Option<f64>,
    pub retry_max_secs: Option<f64>,
    /// Rate caps; the first whose `during` covers the local time applies.
    #[serde(default)]
    pub bandwidth: Vec<RawBandwidth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBandwidth {
    /// `HH:MM-HH:MM` in local time; may wrap past midnight. Absent: always.
    pub during: Option<String>,
    /// `2 Mbit/s`, `500 kbit/s`, `1 MB/s`, or `0` to send nothing then.
    pub max_rate: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: Option<String>,
    /// Destination names.
    pub to: Vec<String>,
    /// Match: any of these calling AE titles (DIMSE arrivals only).
    #[serde(default)]
    pub calling_ae_titles: Vec<String>,
    /// Match: any of these sites (by their AE titles).
    #[serde(default)]
    pub sites: Vec<String>,
    /// Match: any of these modalities.
    #[serde(default)]
    pub modalities: Vec<String>,
    /// Match: any of these priorities (the sending site's).
    #[serde(default)]
    pub priorities: Vec<Priority>,
    /// Match: Study Description against a pattern with `*` and `?`,
    /// ignoring case.
    pub study_description: Option<String>,
    /// The priority the jobs get; default: the sending site's.
    pub priority: Option<Priority>,
    /// `when-stable` (default): once no instance has arrived for
    /// `stable_secs`; `each-instance`: as instances arrive.
    pub send: Option<SendWhen>,
    pub stable_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendWhen {
    WhenStable,
    EachInstance,
}

/// How requests to a DICOMweb endpoint or peer prove who sends them;
/// never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Bearer`, from `token_file` or the environment.
    Bearer(String),
    /// HTTP Basic, from a user and password written in the URL. They are
    /// taken out of it, so the URL as logged and shown carries neither.
    Basic { user: String, password: String },
}

impl Credentials {
    /// `request` with these credentials.
    pub fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(..)"),
            Credentials::Basic { .. } => f.write_str("Basic(..)"),
        }
    }
}

/// How a destination is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Dicom(DicomNode),
    DicomWeb {
        url: String,
        auth: Option<Credentials>,
    },
    /// Another `pacs` at its base URL: packed, resumable uploads and a
    /// completion commit; `store_as` asks it to store instances converted
    /// to that lossless transfer syntax.
    Peer {
        url: String,
        auth: Option<Credentials>,
        store_as: Option<String>,
    },
}

/// A rate cap and when it applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bandwidth {
    /// Minutes after local midnight, start inclusive, end exclusive.
    pub during: Option<(u16, u16)>,
    /// Bytes per second; zero sends nothing.
    pub bytes_per_sec: u64,
}

/// A validated destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub name: String,
    pub target: Target,
    pub concurrency: usize,
    pub backoff: Backoff,
    pub bandwidth: Vec<Bandwidth>,
}

impl Destination {
    /// The cap at `minute` (after local midnight): `None` is unlimited.
    pub fn rate_at(&self, minute: u16) -> Option<u64> {
        self.bandwidth
            .iter()
            .find(|b| match b.during {
                None => true,
                Some((start, end)) if start <= end => (start..end).contains(&minute),
                Some((start, end)) => minute >= start || minute < end,
            })
            .map(|b| b.bytes_per_sec)
    }
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub to: Vec<String>,
    pub calling_ae_titles: Vec<String>,
    pub sites: Vec<String>,
    pub modalities: Vec<String>,
    pub priorities: Vec<Priority>,
    pub study_description: Option<String>,
    pub priority: Option<Priority>,
    pub settle: Duration,
}

/// Forwarding, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForwardConfig {
    pub node_name: String,
    pub destinations: Vec<Destination>,
    pub rules: Vec<Rule>,
}

impl ForwardConfig {
    pub fn from_raw(raw: RawForward, nodes: &[DicomNode]) -> Result<ForwardConfig> {
        let mut destinations: Vec<Destination> = Vec::new();
        for d in raw.destinations {
            if d.name.trim().is_empty() {
                bail!("a forwarding destination has no name");
            }
            if destinations.iter().any(|o| o.name == d.name) {
                bail!("forwarding destination {:?} is configured twice", d.name);
            }
            destinations.push(destination(d, nodes)?);
        }
        let mut rules = Vec::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let name = r.name.clone().unwrap_or_else(|| format!("rule {}", i + 1));
            if r.to.is_empty() {
                bail!("forwarding {name} sends nowhere: give `to`");
            }
            if let Some(unknown) =
                r.to.iter()
                    .find(|t| !destinations.iter().any(|d| &&d.name == t))
            {
                bail!(
                    "forwarding {name} names {unknown:?}, which is not a [[forward.destinations]] entry"
                );
            }
            if let Some(bad) = r.calling_ae_titles.iter().find(|a| !valid_ae_title(a)) {
                bail!("forwarding {name}: {bad:?} is not a valid AE title");
            }
            let settle = match r.send.unwrap_or(SendWhen::WhenStable) {
                SendWhen::EachInstance => {
                    if r.stable_secs.is_some() {
                        bail!(
                            "forwarding {name}: stable_secs applies only to send = \"when-stable\""
                        );
                    }
                    Duration::ZERO
                }
                SendWhen::WhenStable => Duration::from_secs(r.stable_secs.unwrap_or(30)),
            };
            rules.push(Rule {
                name,
                to: r.to,
                calling_ae_titles: r
                    .calling_ae_titles
                    .iter()
                    .map(|a| a.trim().to_owned())
                    .collect(),
                sites: r.sites,
                modalities: r
                    .modalities
                    .iter()
                    .map(|m| m.trim().to_uppercase())
                    .collect(),
                priorities: r.priorities,
                study_description: r.study_description,
                priority: r.priority,
                settle,
            });
        }
        let node_name = raw
            .node_name
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "pacs".into());
        Ok(ForwardConfig {
            node_name,
            destinations,
            rules,
        })
    }

    /// Where an arrival goes: one order per destination, the most urgent
    /// priority and the shortest wait of the rules that send it there.
    /// `site_priority` is the reading priority of the site that sent it.
    pub fn route(&self, arrival: &Arrival<'_>, site_priority: Priority) -> Vec<ForwardOrder> {
        let mut orders: Vec<ForwardOrder> = Vec::new();
        for rule in &self.rules {
            if !rule.matches(arrival, site_priority) {
                continue;
            }
            let priority = rule.priority.unwrap_or(site_priority);
            for to in &rule.to {
                match orders.iter_mut().find(|o| &o.destination == to) {
                    Some(o) => {
                        o.priority = o.priority.min(priority);
                        o.settle = o.settle.min(rule.settle);
                    }
                    None => orders.push(ForwardOrder {
                        destination: to.clone(),
                        priority,
                        settle: rule.settle,
                    }),
                }
            }
        }
        orders
    }
}

impl Rule {
    fn matches(&self, a: &Arrival<'_>, priority: Priority) -> bool {
        let any = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
        };
        any(&self.calling_ae_titles, a.calling_ae_title)
            && any(&self.sites, a.site)
            && any(
                &self.modalities,
                a.modality.map(|m| m.trim().to_uppercase()).as_deref(),
            )
            && (self.priorities.is_empty() || self.priorities.contains(&priority))
            && self.study_description.as_deref().is_none_or(|p| {
                a.study_description
                    .is_some_and(|d| wildcard_match(p, d.trim()))
            })
    }
}

fn destination(d: RawDestination, nodes: &[DicomNode]) -> Result<Destination> {
    let name = d.name.clone();
    // The URL, and the credentials written in it or in a token.
    let http_url = |url: &str| -> Result<(String, Option<Credentials>)> {
        let url = url.trim().trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("forwarding destination {name:?}: the URL must start with http:// or https://");
        }
        let token = token(&name, d.token_file.as_deref())?;
        let (url, basic) = without_credentials(&url)
            .with_context(|| format!("forwarding destination {name:?}: the URL is not valid"))?;
        match (basic, token) {
            (Some(_), Some(_)) => bail!(
                "forwarding destination {name:?}: give a user and password in the URL or a \
                 bearer token, not both"
            ),
            (basic, token) => Ok((url, basic.or(token))),
        }
    };
    if d.store_as.is_some() && d.peer_url.is_none() {
        bail!("forwarding destination {name:?}: store_as is for peer destinations");
    }
    let target = match (&d.dicom_node, &d.dicomweb_url, &d.peer_url) {
        (Some(aet), None, None) => {
            let node = nodes
                .iter()
                .find(|n| n.ae_title.trim() == aet.trim())
                .with_context(|| {
                    format!(
                        "forwarding destination {name:?}: {aet:?} is not a [[dicom_nodes]] entry"
                    )
                })?;
            if d.token_file.is_some() {
                bail!(
                    "forwarding destination {name:?}: a token is for DICOMweb and peer destinations"
                );
            }
            Target::Dicom(node.clone())
        }
        (None, Some(url), None) => {
            let (url, auth) = http_url(url)?;
            Target::DicomWeb { url, auth }
        }
        (None, None, Some(url)) => {
            let (url, auth) = http_url(url)?;
            Target::Peer {
                url,
                auth,
                store_as: match &d.store_as {
                    Some(ts) if !pacs_core::transcode::LOSSLESS_STORAGE.contains(&ts.as_str()) => {
                        bail!(
                            "forwarding destination {name:?}: store_as must be one of {}",
                            pacs_core::transcode::LOSSLESS_STORAGE.join(", ")
                        )
                    }
                    other => other.clone(),
                },
            }
        }
        _ => bail!(
            "forwarding destination {name:?} needs exactly one of dicom_node, dicomweb_url and peer_url"
        ),
    };
    let defaults = Backoff::default();
    let secs = |v: Option<f64>, default: Duration, what: &str| -> Result<Duration> {
        match v {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s < 1e7 => Ok(Duration::from_secs_f64(s)),
            Some(s) => bail!("forwarding destination {name:?}: {what} = {s} is out of range"),
        }
    };
    let backoff = Backoff {
        initial: secs(d.retry_initial_secs, defaults.initial, "retry_initial_secs")?,
        max: secs(d.retry_max_secs, defaults.max, "retry_max_secs")?,
        max_attempts: d.max_attempts.unwrap_or(defaults.max_attempts).max(1),
    };
    let bandwidth = d
        .bandwidth
        .iter()
        .map(|b| {
            Ok(Bandwidth {
                during: b.during.as_deref().map(window).transpose()?,
                bytes_per_sec: rate(&b.max_rate)?,
            })
        })
        .collect::<Result<Vec<_>>>()
        .with_context(|| format!("forwarding destination {name:?}: bandwidth"))?;
    Ok(Destination {
        name,
        target,
        concurrency: d.concurrency.unwrap_or(1).clamp(1, 64),
        backoff,
        bandwidth,
    })
}

/// `url` without the user and password written in it, and those as HTTP
/// Basic credentials.
pub fn without_credentials(url: &str) -> Result<(String, Option<Credentials>)> {
    let mut parsed = url::Url::parse(url)?;
    if parsed.username().is_empty() && parsed.password().is_none() {
        return Ok((url.to_owned(), None));
    }
    let decode = |s: &str| -> Result<String> {
        Ok(percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .context("the user or password is not UTF-8")?
            .into_owned())
    };
    let user = decode(parsed.username())?;
    let password = decode(parsed.password().unwrap_or(""))?;
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let bare = parsed.as_str().trim_end_matches('/').to_owned();
    Ok((bare, Some(Credentials::Basic { user, password })))
}

fn token(name: &str, file: Option<&std::path::Path>) -> Result<Option<Credentials>> {
    let var: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(t) = std::env::var(format!("PACS_FORWARD_TOKEN_{var}"))
        && !t.trim().is_empty()
    {
        return Ok(Some(Credentials::Bearer(t.trim().to_owned())));
    }
    match file {
        None => Ok(None),
        Some(path) => {
            let t = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the token file {}", path.display()))?;
            Ok(Some(Credentials::Bearer(t.trim().to_owned())))
        }
    }
}

/// `HH:MM-HH:MM` as minutes after midnight.
fn window(text: &str) -> Result<(u16, u16)> {
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    let parsed = text
        .split_once('-')
        .and_then(|(a, b)| Some((minute(a)?, minute(b)?)));
    match parsed {
        Some((a, b)) if a != b => Ok((a, b.min(24 * 60))),
        _ => bail!("{text:?} is not a time window like \"22:00-06:00\""),
    }
}

/// `2 Mbit/s`, `500 kbit/s`, `1.5 MB/s`, `0` as bytes per second.
fn rate(text: &str) -> Result<u64> {
    let t = text.trim();
    if t == "0" {
        return Ok(0);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .with_context(|| format!("{text:?} is not a rate like \"2 Mbit/s\""))?;
    let per_sec = match unit.trim() {
        "bit/s" => number / 8.0,
        "kbit/s" => number * 1e3 / 8.0,
        "Mbit/s" => number * 1e6 / 8.0,
        "Gbit/s" => number * 1e9 / 8.0,
        "B/s" => number,
        "kB/s" => number * 1e3,
        "MB/s" => number * 1e6,
        "GB/s" => number * 1e9,
        other => bail!(
            "{other:?} in {text:?} is not a unit: use bit/s, kbit/s, Mbit/s, Gbit/s, B/s, kB/s, MB/s or GB/s"
        ),
    };
    Ok(per_sec.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<DicomNode> {
        vec![DicomNode {
            ae_title: "CENTRE".into(),
            host: "10.0.0.1".into(),
            port: 104,
        }]
    }

    fn parse(text: &str) -> Result<ForwardConfig> {
        #[derive(Deserialize)]
        struct File {
            forward: RawForward,
        }
        let file: File = toml::from_str(text)?;
        ForwardConfig::from_raw(file.forward, &nodes())
    }

    #[test]
    fn rates_and_windows_parse() {
        assert_eq!(rate("2 Mbit/s").unwrap(), 250_000);
        assert_eq!(rate("500kbit/s").unwrap(), 62_500);
        assert_eq!(rate("1.5 MB/s").unwrap(), 1_500_000);
        assert_eq!(rate("0").unwrap(), 0);
        assert!(rate("fast").is_err());
        assert!(rate("2 Mbps").is_err());
        assert_eq!(window("22:00-06:00").unwrap(), (1320, 360));
        assert_eq!(window("08:30-18:00").unwrap(), (510, 1080));
        assert!(window("8-18").is_err());
        assert!(window("10:00-10:00").is_err());
        assert!(window("25:00-01:00").is_err());
    }

    #[test]
    fn the_first_bandwidth_entry_covering_the_time_applies() {
        let c = parse(
            r#"
            [[forward.destinations]]
            name = "centre"
            dicom_node = "CENTRE"
            bandwidth = [
                { during = "08:00-18:00", max_rate = "0" },
                { during = "22:00-06:00", max_rate = "8 Mbit/s" },
                { max_rate = "2 Mbit/s" },
            ]
            "#,
        )
        .unwrap();
        let d = &c.destinations[0];
        assert_eq!(d.rate_at(9 * 60), Some(0));
        assert_eq!(d.rate_at(23 * 60), Some(1_000_000));
        assert_eq!(d.rate_at(5 * 60 + 59), Some(1_000_000));
        assert_eq!(d.rate_at(19 * 60), Some(250_000));
        let unlimited =
            parse("[[forward.destinations]]\nname = \"c\"\ndicom_node = \"CENTRE\"\n").unwrap();
        assert_eq!(unlimited.destinations[0].rate_at(0), None);
        assert_eq!(unlimited.destinations[0].concurrency, 1);
    }

    #[test]
    fn rules_route_by_ae_title_site_modality_priority_and_description() {
        let c = parse(
            r#"
            [[forward.destinations]]
            name = "centre"
            dicomweb_url = "https://centre.example.org/dicom-web/"
            [[forward.destinations]]
            name = "archive"
            dicom_node = "CENTRE"

            [[forward.rules]]
            to = ["centre"]
            modalities = ["ct"]
            sites = ["district-1", "emergency"]

            [[forward.rules]]
            to = ["centre", "archive"]
            study_description = "*head*"
            send = "each-instance"

            [[forward.rules]]
            to = ["archive"]
            priorities = ["stat"]
            priority = "urgent"
            stable_secs = 5
            "#,
        )
        .unwrap();
        let Target::DicomWeb { url, auth } = &c.destinations[0].target else {
            panic!("a DICOMweb destination");
        };
        assert_eq!(url, "https://centre.example.org/dicom-web");
        assert_eq!(auth, &None);

        let ct = |site, description| Arrival {
            calling_ae_title: Some("ANY_CT"),
            site,
            modality: Some("CT"),
            study_description: description,
        };
        // A known site's CT: the first rule only, at the site's priority.
        let orders = c.route(&ct(Some("district-1"), Some("CT CHEST")), Priority::Routine);
        assert_eq!(
            orders,
            vec![ForwardOrder {
                destination: "centre".into(),
                priority: Priority::Routine,
                settle: Duration::from_secs(30),
            }]
        );
        // Another site, or none, matches no site rule.
        assert!(
            c.route(&ct(Some("other"), None), Priority::Routine)
                .is_empty()
        );
        assert!(c.route(&ct(None, None), Priority::Routine).is_empty());
        // A head study from the emergency site, whose studies are stat: all
        // three rules; the shortest wait and the most urgent priority win
        // per destination.
        let orders = c.route(&ct(Some("emergency"), Some("CT Head w/o")), Priority::Stat);
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0].destination, "centre");
        assert_eq!(orders[0].priority, Priority::Stat);
        assert_eq!(orders[0].settle, Duration::ZERO);
        assert_eq!(orders[1].destination, "archive");
        assert_eq!(orders[1].priority, Priority::Stat);
        assert_eq!(orders[1].settle, Duration::ZERO);
    }

    #[test]
    fn mistakes_are_refused_with_their_place() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert!(err("[[forward.destinations]]\nname = \"x\"\n").contains("exactly one"));
        assert!(
            err("[[forward.destinations]]\nname = \"x\"\ndicom_node = \"NOPE\"\n")
                .contains("not a [[dicom_nodes]] entry")
        );
        assert!(
            err("[[forward.destinations]]\nname = \"x\"\ndicomweb_url = \"ftp://h\"\n")
                .contains("http")
        );
        assert!(err("[[forward.rules]]\nto = [\"nowhere\"]\n").contains("\"nowhere\""));
        assert!(
            err("[[forward.destinations]]\nname = \"x\"\npeer_url = \"http://h\"\nstore_as = \"1.2.840.10008.1.2.4.50\"\n")
                .contains("store_as must be one of"),
            "lossy syntaxes are refused"
        );
        assert!(
            err("[[forward.destinations]]\nname = \"x\"\ndicom_node = \"CENTRE\"\nstore_as = \"1.2.840.10008.1.2.4.80\"\n")
                .contains("for peer destinations")
        );
    }

    #[test]
    fn credentials_never_print() {
        assert_eq!(
            format!("{:?}", Credentials::Bearer("secret".into())),
            "Bearer(..)"
        );
        let basic = Credentials::Basic {
            user: "edge".into(),
            password: "secret".into(),
        };
        assert_eq!(format!("{basic:?}"), "Basic(..)");
    }

    /// A user and password in a destination's URL become its credentials
    /// and leave the URL, so nothing that shows or logs the URL has them.
    #[test]
    fn credentials_in_a_url_are_taken_out_of_it() {
        let c = parse(
            r#"
            [[forward.destinations]]
            name = "orthanc"
            dicomweb_url = "https://edge%40dh1:p%3Ass@centre.example.org:8042/dicom-web/"
            "#,
        )
        .unwrap();
        let Target::DicomWeb { url, auth } = &c.destinations[0].target else {
            panic!("a DICOMweb destination");
        };
        assert_eq!(url, "https://centre.example.org:8042/dicom-web");
        assert_eq!(
            auth,
            &Some(Credentials::Basic {
                user: "edge@dh1".into(),
                password: "p:ss".into(),
            })
        );
        assert!(!format!("{c:?}").contains("p:ss") && !format!("{c:?}").contains("p%3Ass"));
    }
}
