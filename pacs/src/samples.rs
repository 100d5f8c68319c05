//! Demo studies for a first start: generated, then imported like any file.

use anyhow::{Context, Result};

use crate::config::Config;
use crate::server::Services;

/// Loads the demo studies when the archive holds no instance yet.
pub async fn load_if_empty(config: &Config, services: &Services) -> Result<()> {
    let totals = services.index.totals().await?;
    if totals.instances > 0 {
        tracing::info!(
            studies = totals.studies,
            "archive not empty: sample studies not loaded"
        );
        return Ok(());
    }
    let dir = config.data_dir.join("samples");
    tracing::info!(dir = %dir.display(), "generating sample studies");
    let generate_dir = dir.clone();
    tokio::task::spawn_blocking(move || dicom_samples::write_demo(&generate_dir))
        .await
        .context("sample generation failed")?
        .context("cannot write sample studies")?;
    let files = crate::import::collect_files(std::slice::from_ref(&dir))?;
    let summary = crate::import::import(&services.ingest, files, false).await;
    tracing::info!(
        stored = summary.stored,
        rejected = summary.rejected.len(),
        "sample studies loaded"
    );
    for (file, reason) in &summary.rejected {
        tracing::warn!(file = %file.display(), %reason, "sample not loaded");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
