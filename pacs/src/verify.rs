//! `pacs verify`: every instance the index lists checked against its
//! object in storage, byte for byte (see [`pacs_core::verify`]), and the
//! objects no index entry names. Safe to run beside a serving archive: it
//! changes no stored instance and no index entry.

use anyhow::{Context, Result};
use pacs_core::index::StoredInstance;
use pacs_core::query::{Level, Paging, Query};
use pacs_core::verify::{INSTANCE_PREFIX, Problem, check_instance, unindexed};
use pacs_core::{Archive, Uid};
use storage::ObjectKey;

use crate::import::progress_bar;

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
    let mut walk = Query::new(Level::Study);
    walk.limit = STUDY_PAGE;
    walk.paging = Paging::Walk { after: None };
    loop {
        let studies: Vec<String> = match &study {
            Some(uid) => vec![uid.to_string()],
            None => {
                let rows = index.search(&walk).await?;
                match rows.last() {
                    Some(last) if rows.len() == STUDY_PAGE => {
                        walk.paging = Paging::Walk {
                            after: last.position.clone(),
                        };
                    }
                    _ => walk.paging = Paging::Offset,
                }
                rows.into_iter().map(|r| r.study_uid).collect()
            }
        };
        for uid in &studies {
            let uid = Uid::parse(uid).with_context(|| format!("study {uid} in the index"))?;
            for instance in index.instances(&uid, None, None).await? {
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
        if study.is_some() || walk.paging == Paging::Offset {
            break;
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

/// The report on standard output, one line per finding, then the totals.
pub fn print(summary: &Summary) {
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
    for key in &summary.unindexed {
        println!(
            "unindexed {key}: no index entry names it (a store that never completed, or one under way)",
            key = key.as_str()
        );
    }
    println!(
        "{} studies: {} instances intact ({:.1} MB read) / {} with problems / {} objects unindexed",
        summary.studies,
        summary.intact,
        summary.bytes as f64 / 1e6,
        summary.problems.len(),
        summary.unindexed.len()
    );
}
