//! `pacs verify`: every instance the index lists checked against its
//! object in storage, byte for byte (see [`pacs_core::verify`]), and the
//! objects no index entry names. Safe to run beside a serving archive: it
//! changes no stored instance and no index entry.
//!
//! `pacs verify --reindex` then indexes the objects whose instance the
//! index does not hold at all: after the index was lost, or restored from
//! a backup older than the objects, they are the only record of studies
//! a site sent. Nothing else it finds is changed.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use pacs_core::index::{Index, StoredInstance};
use pacs_core::query::{Level, Paging, Query};
use pacs_core::verify::{INSTANCE_PREFIX, Problem, check_instance, sop_of_key, unindexed};
use pacs_core::{Archive, Ingest, IngestError, StoreKind, Uid};
use storage::ObjectKey;

use crate::import::progress_bar;
use crate::sites::Sites;

/// Objects written more recently than this are not reindexed: a store
/// that renamed its object but has not committed its index entry yet
/// must not be raced (the gap is milliseconds, a stalled disk stretches
/// it).
pub const REINDEX_MIN_AGE: Duration = Duration::from_secs(10 * 60);

/// Studies fetched from the index at a time.
const STUDY_PAGE: usize = 200;

/// What a verification found.
#[derive(Debug, Default)]
pub struct Summary {
    pub studies: usize,
    pub intact: usize,
    pub bytes: u64,
    pub problems: Vec<(StoredInstance, Problem)>,
    pub unindexed: Vec<ObjectKey>,
}

/// Checks every instance of `study`, or of the whole archive.
pub async fn verify(archive: &Archive, study: Option<Uid>, progress: bool) -> Result<Summary> {
    let index = archive.index();
    let total = match &study {
        Some(uid) => index.instances(uid, None, None).await?.len() as i64,
        None => index.totals().await?.instances,
    };
    let bar = progress_bar(usize::try_from(total).unwrap_or(0), progress);
    let mut summary = Summary::default();
    let mut walk = StudyWalk::new(study.clone());
    while let Some(studies) = walk.next_page(index.as_ref()).await? {
        for uid in &studies {
            for instance in index.instances(uid, None, None).await? {
                check(archive, instance, &mut summary).await?;
                bar.inc(1);
            }
            summary.studies += 1;
            bar.set_message(format!(
                "intact {} / with problems {}",
                summary.intact,
                summary.problems.len()
            ));
        }
    }
    bar.finish_and_clear();
    // Also the objects of studies the index does not know at all (the
    // first instance of a new study whose store never completed).
    let prefix = match &study {
        Some(uid) => format!("{INSTANCE_PREFIX}{uid}/"),
        None => INSTANCE_PREFIX.to_owned(),
    };
    summary.unindexed = unindexed(archive.store().as_ref(), index.as_ref(), &prefix)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(summary)
}

/// The studies of the archive, a page at a time, in the index's order;
/// or the one study asked for.
pub struct StudyWalk {
    only: Option<Uid>,
    query: Query,
    done: bool,
}

impl StudyWalk {
    pub fn new(only: Option<Uid>) -> StudyWalk {
        let mut query = Query::new(Level::Study);
        query.limit = STUDY_PAGE;
        query.paging = Paging::Walk { after: None };
        StudyWalk {
            only,
            query,
            done: false,
        }
    }

    /// The next page of studies; `None` once all have been given.
    pub async fn next_page(&mut self, index: &dyn Index) -> Result<Option<Vec<Uid>>> {
        if self.done {
            return Ok(None);
        }
        if let Some(uid) = &self.only {
            self.done = true;
            return Ok(Some(vec![uid.clone()]));
        }
        let rows = index.search(&self.query).await?;
        match rows.last() {
            Some(last) if rows.len() == STUDY_PAGE => {
                self.query.paging = Paging::Walk {
                    after: last.position.clone(),
                };
            }
            _ => self.done = true,
        }
        rows.into_iter()
            .map(|r| {
                Uid::parse(&r.study_uid)
                    .with_context(|| format!("study {} in the index", r.study_uid))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

/// Checks `instance` into `summary`. A problem is checked again against
/// what the index holds now: on a serving archive the instance may have
/// been replaced (its old object removed) since it was listed.
async fn check(archive: &Archive, instance: StoredInstance, summary: &mut Summary) -> Result<()> {
    let store = archive.store().as_ref();
    let (instance, outcome) = match check_instance(store, &instance).await {
        Ok(bytes) => (instance, Ok(bytes)),
        Err(problem) => match archive
            .index()
            .find_instance(&instance.sop_instance_uid)
            .await?
        {
            None => return Ok(()),
            Some(now) if now.object_key != instance.object_key => {
                let outcome = check_instance(store, &now).await;
                (now, outcome)
            }
            Some(_) => (instance, Err(problem)),
        },
    };
    match outcome {
        Ok(bytes) => {
            summary.intact += 1;
            summary.bytes += bytes;
        }
        Err(problem) => summary.problems.push((instance, problem)),
    }
    Ok(())
}

/// What `--reindex` did with each unindexed object.
#[derive(Debug)]
pub enum Reindexed {
    /// Indexed, as the named site's where its file meta group names one
    /// of the site's AE titles.
    Indexed { site: Option<String> },
    /// Its store finished while the archive was being checked.
    IndexedMeanwhile,
    /// Left alone: the index holds another object for the same instance
    /// (a copy that was replaced, or a conflicting one that was refused).
    Superseded { by: String },
    /// Left alone, and why.
    Left(String),
    /// Indexing it failed (the object is left as it was).
    Failed(String),
}

/// Indexes each of `keys` (objects [`verify`] found unindexed) whose
/// instance the index does not hold, where it lies
/// ([`Ingest::index_stored`]: checked as any arriving instance, but never
/// written, replaced, removed or forwarded). Objects younger than
/// `min_age` at `now` are left: give [`REINDEX_MIN_AGE`] where a store may
/// be under way, zero where none can be (the data directory held whole).
pub async fn reindex(
    archive: &Archive,
    ingest: &Ingest,
    sites: &Sites,
    keys: &[ObjectKey],
    now: SystemTime,
    min_age: Duration,
) -> Vec<(ObjectKey, Reindexed)> {
    // Of several objects of one instance (replaced more than once since
    // the index was copied), the newest first: it is the one to index.
    let mut ordered = Vec::with_capacity(keys.len());
    for key in keys {
        let written = match archive.store().head(key).await {
            Ok(Some(meta)) => meta.modified,
            _ => None,
        };
        ordered.push((
            sop_of_key(key.as_str()).map(str::to_owned),
            std::cmp::Reverse(written),
            key,
        ));
    }
    ordered.sort();
    let mut out = Vec::with_capacity(keys.len());
    for (_, _, key) in ordered {
        let outcome = reindex_one(archive, ingest, sites, key, now, min_age)
            .await
            .unwrap_or_else(|e| Reindexed::Failed(format!("{e:#}")));
        out.push((key.clone(), outcome));
    }
    out
}

async fn reindex_one(
    archive: &Archive,
    ingest: &Ingest,
    sites: &Sites,
    key: &ObjectKey,
    now: SystemTime,
    min_age: Duration,
) -> Result<Reindexed> {
    let Some(sop) = sop_of_key(key.as_str()) else {
        return Ok(Reindexed::Left("its key names no instance".into()));
    };
    let store = archive.store();
    // An entry whose own object is gone (the copy a later replacement
    // removed, named by an older index) is replaced by this one.
    let mut replace = false;
    if let Some(holder) = indexed_key(archive, sop).await? {
        if holder == key.as_str() {
            return Ok(Reindexed::IndexedMeanwhile);
        }
        let holder_key = ObjectKey::new(&holder).ok();
        let present = match &holder_key {
            Some(k) => store.head(k).await?.is_some(),
            None => true,
        };
        if present {
            return Ok(Reindexed::Superseded { by: holder });
        }
        replace = true;
    }
    let Some(meta) = store.head(key).await? else {
        return Ok(Reindexed::Left("it was removed meanwhile".into()));
    };
    if !min_age.is_zero() {
        let Some(written) = meta.modified else {
            return Ok(Reindexed::Left(
                "the store does not say when it was written, so a store under way cannot be \
                 ruled out: run again with the server stopped"
                    .into(),
            ));
        };
        // A time ahead of ours (another machine's clock) counts as just written.
        let age = now.duration_since(written).unwrap_or_default();
        if age < min_age {
            return Ok(Reindexed::Left(format!(
                "written {} s ago, its store may still be under way: run again later, \
                 or with the server stopped",
                age.as_secs()
            )));
        }
    }
    let bytes = store.get(key).await?;
    // The site of a C-STORE's caller, where the object is one; an upload
    // over DICOMweb or from a peer keeps its sender's file meta group,
    // which names no caller this archive saw, and comes back without one.
    let site = pacs_core::ingest::dimse_caller_of(&bytes)
        .and_then(|caller| sites.named_by_ae_title(&caller));
    match ingest
        .index_stored(
            key,
            bytes,
            "reindex",
            site.as_deref(),
            meta.modified,
            replace,
        )
        .await
    {
        Ok(stored) if matches!(stored.kind, StoreKind::New | StoreKind::Replaced) => {
            Ok(Reindexed::Indexed { site })
        }
        // Stored meanwhile, by a store of the same or of other bytes.
        Ok(_) | Err(IngestError::Conflict(_)) => Ok(match indexed_key(archive, sop).await? {
            Some(holder) if holder != key.as_str() => Reindexed::Superseded { by: holder },
            _ => Reindexed::IndexedMeanwhile,
        }),
        Err(e) => Ok(Reindexed::Failed(e.to_string())),
    }
}

/// The object key the index holds for instance `sop`.
async fn indexed_key(archive: &Archive, sop: &str) -> Result<Option<String>> {
    Ok(archive
        .index()
        .find_instance(sop)
        .await?
        .map(|i| i.object_key))
}

/// The report on standard output, one line per finding, then the totals;
/// with what `--reindex` did where it ran.
pub fn print(summary: &Summary, reindexed: Option<&[(ObjectKey, Reindexed)]>) {
    for (instance, problem) in &summary.problems {
        let kind = match problem {
            Problem::Missing { .. } => "missing",
            Problem::Unreadable(_) => "unreadable",
            _ => "damaged",
        };
        println!(
            "{kind} {} (study {}, series {}): {problem}",
            instance.sop_instance_uid, instance.study_uid, instance.series_uid
        );
    }
    match reindexed {
        None => {
            for key in &summary.unindexed {
                println!(
                    "unindexed {key}: no index entry names it (a store that never completed, or one under way)",
                    key = key.as_str()
                );
            }
        }
        Some(outcomes) => {
            for (key, outcome) in outcomes {
                let key = key.as_str();
                match outcome {
                    Reindexed::Indexed { site: Some(site) } => {
                        println!("reindexed {key} (site {site})")
                    }
                    Reindexed::Indexed { site: None } => println!("reindexed {key} (no site)"),
                    Reindexed::IndexedMeanwhile => {}
                    Reindexed::Superseded { by } => println!(
                        "unindexed {key}: left alone, the index holds {by} for its instance"
                    ),
                    Reindexed::Left(why) => println!("unindexed {key}: left alone, {why}"),
                    Reindexed::Failed(why) => println!("unindexed {key}: cannot reindex it: {why}"),
                }
            }
        }
    }
    println!(
        "{} studies: {} instances intact ({:.1} MB read) / {} with problems / {} objects unindexed",
        summary.studies,
        summary.intact,
        summary.bytes as f64 / 1e6,
        summary.problems.len(),
        summary.unindexed.len()
    );
    if let Some(outcomes) = reindexed {
        let count = |f: fn(&Reindexed) -> bool| outcomes.iter().filter(|(_, o)| f(o)).count();
        println!(
            "reindexed {} / left alone {} / failed {}",
            count(|o| matches!(o, Reindexed::Indexed { .. })),
            count(|o| matches!(o, Reindexed::Superseded { .. } | Reindexed::Left(_))),
            count(|o| matches!(o, Reindexed::Failed(_))),
        );
    }
}
