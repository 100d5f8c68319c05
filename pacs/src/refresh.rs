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
/// each study where anything changed on the audit trail. Without `apply`,
/// says what would change and changes nothing.
pub async fn refresh(
    archive: &Archive,
    ingest: &Ingest,
    workflow: &dyn Workflow,
    study: Option<Uid>,
    apply: bool,
    progress: bool,
) -> Result<Summary> {
    let index = archive.index();
    let total = match &study {
        Some(uid) => {
            let instances = index.instances(uid, None, None).await?.len();
            if instances == 0 {
                anyhow::bail!("the index holds no study {uid}");
            }
            instances as i64
        }
        None => index.totals().await?.instances,
    };
    let bar = progress_bar(usize::try_from(total).unwrap_or(0), progress);
    let mut summary = Summary::default();
    let mut walk = StudyWalk::new(study);
    while let Some(studies) = walk.next_page(index.as_ref()).await? {
        for uid in studies {
            let mut study_changed = Vec::new();
            let mut instances_changed = 0;
            let mut series_changed = 0;
            for instance in index.instances(&uid, None, None).await? {
                summary.instances += 1;
                bar.inc(1);
                match refresh_one(archive, ingest, &instance, apply).await {
                    Ok(Some(r)) => {
                        instances_changed += usize::from(r.instance);
                        series_changed += usize::from(r.series);
                        study_changed.extend(r.study);
                    }
                    // Replaced or removed since it was listed: its
                    // successor was read by this version.
                    Ok(None) => {}
                    Err(why) => summary.failed.push((instance, why)),
                }
            }
            summary.instances_changed += instances_changed;
            summary.series_changed += series_changed;
            summary.studies += 1;
            if apply && (instances_changed > 0 || series_changed > 0 || !study_changed.is_empty()) {
                let attributes = if study_changed.is_empty() {
                    "no study attributes".to_owned()
                } else {
                    study_changed.join(", ")
                };
                let detail = format!(
                    "read again from the stored objects: {attributes}; \
                     {series_changed} series' attributes; {instances_changed} instances' metadata"
                );
                console_audit(workflow, AUDIT_ACTION, Some(uid.to_string()), detail).await?;
            }
            if !study_changed.is_empty() {
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
    apply: bool,
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
                Ok(_) => Ok(None),
                Err(index) => Err(format!(
                    "its object cannot be read ({e}), nor the index asked whether it was replaced: {index}"
                )),
            };
        }
    };
    ingest
        .refresh_stored(instance, object, apply)
        .await
        .map_err(|e| e.to_string())
}

/// What text that names no character set is read as, said before a
/// refresh: run with the wrong settings, a refresh would read correctly
/// indexed names back into mojibake.
pub fn print_reading(undeclared: Option<&str>, apply: bool) {
    match undeclared {
        Some(name) => {
            println!("undeclared text is read as {name} ([ingest] undeclared_character_set)")
        }
        None => println!(
            "undeclared text is read as ISO 8859-1: [ingest] undeclared_character_set is not set \
             (pass the server's --config, or set it there first)"
        ),
    }
    if !apply {
        println!("dry run: nothing is changed");
    }
}

/// The report on standard output: each study whose attributes change,
/// each failure, then the totals.
pub fn print(summary: &Summary, apply: bool) {
    let verb = if apply { "refreshed" } else { "would refresh" };
    for (uid, attributes) in &summary.studies_changed {
        println!("{verb} study {uid}: {}", attributes.join(", "));
    }
    for (instance, why) in &summary.failed {
        println!(
            "failed {} (study {}, series {}): {why}",
            instance.sop_instance_uid, instance.study_uid, instance.series_uid
        );
    }
    let changed = if apply { "changed" } else { "would change" };
    println!(
        "{} studies, {} instances read: {} studies' attributes / {} series' / {} instances' metadata {changed}; {} failed",
        summary.studies,
        summary.instances,
        summary.studies_changed.len(),
        summary.series_changed,
        summary.instances_changed,
        summary.failed.len()
    );
}
