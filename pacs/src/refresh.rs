//! `pacs refresh`: every stored instance read again, and what the index
//! holds of it brought up to date with today's reading (see
//! [`pacs_core::Ingest::refresh_stored`]).
//!
//! What the index holds of an instance (the patient and study attributes
//! that lists and searches show, the metadata served to viewers) is what
//! the archive read from its object when it arrived. A later version may
//! read the same bytes better (a character set it could not decode), and
//! `[ingest] undeclared_character_set` may be set after studies arrived
//! in a code page they did not declare: the objects are right, their
//! index entries show mojibake. Objects never change; neither do signed
//! reports, which stay as they were signed. Safe beside a serving archive.

use anyhow::Result;
use pacs_core::index::{Refreshed, StoredInstance};
use pacs_core::workflow::Workflow;
use pacs_core::{Archive, Ingest, Uid};
use storage::ObjectKey;

use crate::admin_cli::console_audit;
use crate::import::progress_bar;
use crate::verify::StudyWalk;

/// The audit trail's name for a study whose attributes were refreshed.
pub const AUDIT_ACTION: &str = "study_refreshed";

/// What a refresh did.
#[derive(Debug, Default)]
pub struct Summary {
    pub studies: usize,
    pub instances: usize,
    /// Instances whose metadata or image attributes changed.
    pub instances_changed: usize,
    pub series_changed: usize,
    /// Studies whose attributes changed, with the attributes' keywords.
    pub studies_changed: Vec<(Uid, Vec<&'static str>)>,
    /// Instances that could not be read again, and why (left as indexed).
    pub failed: Vec<(StoredInstance, String)>,
}

/// Refreshes every instance of `study`, or of the whole archive, and puts
/// each study whose attributes changed on the audit trail.
pub async fn refresh(
    archive: &Archive,
    ingest: &Ingest,
    workflow: &dyn Workflow,
    study: Option<Uid>,
    progress: bool,
) -> Result<Summary> {
    let index = archive.index();
    let total = match &study {
        Some(uid) => index.instances(uid, None, None).await?.len() as i64,
        None => index.totals().await?.instances,
    };
    let bar = progress_bar(usize::try_from(total).unwrap_or(0), progress);
    let mut summary = Summary::default();
    let mut walk = StudyWalk::new(study);
    while let Some(studies) = walk.next_page(index.as_ref()).await? {
        for uid in studies {
            let mut study_changed = Vec::new();
            let mut instances_changed = 0;
            for instance in index.instances(&uid, None, None).await? {
                summary.instances += 1;
                bar.inc(1);
                match refresh_one(archive, ingest, &instance).await {
                    Ok(Some(r)) => {
                        instances_changed += usize::from(r.instance);
                        summary.series_changed += usize::from(r.series);
                        study_changed.extend(r.study);
                    }
                    // Replaced or removed since it was listed: its
                    // successor was read by this version.
                    Ok(None) => {}
                    Err(why) => summary.failed.push((instance, why)),
                }
            }
            summary.instances_changed += instances_changed;
            summary.studies += 1;
            if !study_changed.is_empty() {
                let detail = format!(
                    "{} read again from the stored objects ({instances_changed} instances' metadata)",
                    study_changed.join(", ")
                );
                console_audit(workflow, AUDIT_ACTION, Some(uid.to_string()), detail).await?;
                summary.studies_changed.push((uid, study_changed));
            }
            bar.set_message(format!(
                "studies changed {} / failed {}",
                summary.studies_changed.len(),
                summary.failed.len()
            ));
        }
    }
    bar.finish_and_clear();
    Ok(summary)
}

async fn refresh_one(
    archive: &Archive,
    ingest: &Ingest,
    instance: &StoredInstance,
) -> Result<Option<Refreshed>, String> {
    let key = ObjectKey::new(&instance.object_key)
        .map_err(|e| format!("the indexed key is not valid: {e}"))?;
    let object = match archive.store().get(&key).await {
        Ok(object) => object,
        // Replaced meanwhile (its old object removed) or lost: the
        // refresh says which.
        Err(e) => {
            return match archive
                .index()
                .find_instance(&instance.sop_instance_uid)
                .await
            {
                Ok(Some(now)) if now.object_key == instance.object_key => {
                    Err(format!("its object cannot be read: {e}: run pacs verify"))
                }
                _ => Ok(None),
            };
        }
    };
    ingest
        .refresh_stored(instance, object)
        .await
        .map_err(|e| e.to_string())
}

/// The report on standard output: each study changed, each failure, then
/// the totals.
pub fn print(summary: &Summary) {
    for (uid, attributes) in &summary.studies_changed {
        println!("refreshed study {uid}: {}", attributes.join(", "));
    }
    for (instance, why) in &summary.failed {
        println!(
            "failed {} (study {}, series {}): {why}",
            instance.sop_instance_uid, instance.study_uid, instance.series_uid
        );
    }
    println!(
        "{} studies, {} instances read: {} studies' attributes / {} series' / {} instances' metadata changed; {} failed",
        summary.studies,
        summary.instances,
        summary.studies_changed.len(),
        summary.series_changed,
        summary.instances_changed,
        summary.failed.len()
    );
}
