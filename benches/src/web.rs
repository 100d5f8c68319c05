//! WADO-RS figures: series metadata, single frames under concurrent load,
//! and the whole study, each read to the end of its body.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;

use crate::data::CtSeriesFiles;
use crate::stats::{Latencies, Lcg};

const FRAME_ACCEPT: &str =
    "multipart/related; type=\"application/octet-stream\"; transfer-syntax=*";
const STUDY_ACCEPT: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";
const METADATA_ACCEPT: &str = "application/dicom+json";

/// An HTTP client with keep-alive, as a viewer would hold one.
pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(8)
        .tcp_nodelay(true)
        .build()?)
}

/// GETs `url` and reads the body to its end; returns its length.
async fn get_all(client: &reqwest::Client, url: &str, accept: &str) -> Result<u64> {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!(
            "GET {url} answered {status}: {}",
            body.chars().take(300).collect::<String>()
        );
    }
    let mut stream = response.bytes_stream();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        n += chunk
            .with_context(|| format!("reading the body of {url}"))?
            .len() as u64;
    }
    Ok(n)
}

fn series_url(base: &str, ct: &CtSeriesFiles) -> String {
    format!("{base}/studies/{}/series/{}", ct.study_uid, ct.series_uid)
}

/// Series `/metadata`: one request to check the answer, then `count` timed.
pub async fn series_metadata(base: &str, ct: &CtSeriesFiles, count: usize) -> Result<Latencies> {
    let client = client()?;
    let url = format!("{}/metadata", series_url(base, ct));
    let check: serde_json::Value = client
        .get(&url)
        .header(reqwest::header::ACCEPT, METADATA_ACCEPT)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .with_context(|| format!("{url} is not JSON"))?;
    let n = check.as_array().map(Vec::len).unwrap_or(0);
    if n != ct.sop_uids.len() {
        bail!(
            "{url} described {n} instances, expected {}",
            ct.sop_uids.len()
        );
    }
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let t = Instant::now();
        get_all(&client, &url, METADATA_ACCEPT).await?;
        samples.push(t.elapsed());
    }
    Ok(Latencies::new(samples))
}

/// `/frames/1` of random instances from `workers` concurrent clients with
/// keep-alive, `per_worker` timed requests each after one to connect.
pub async fn frames(
    base: &str,
    ct: &CtSeriesFiles,
    frame_bytes: u64,
    workers: usize,
    per_worker: usize,
) -> Result<Latencies> {
    let series = series_url(base, ct);
    let sops = &ct.sop_uids;
    let tasks = (0..workers).map(|w| {
        let series = series.clone();
        async move {
            let client = client()?;
            let mut rng = Lcg::new(w as u64 + 1);
            let mut samples = Vec::with_capacity(per_worker);
            for k in 0..=per_worker {
                let sop = &sops[rng.below(sops.len() as u64) as usize];
                let url = format!("{series}/instances/{sop}/frames/1");
                let t = Instant::now();
                let n = get_all(&client, &url, FRAME_ACCEPT).await?;
                let elapsed = t.elapsed();
                if n < frame_bytes {
                    bail!("{url} returned {n} bytes, less than one {frame_bytes}-byte frame");
                }
                if k > 0 {
                    samples.push(elapsed);
                }
            }
            anyhow::Ok(samples)
        }
    });
    let mut all = Vec::with_capacity(workers * per_worker);
    for r in futures::future::join_all(tasks).await {
        all.extend(r?);
    }
    Ok(Latencies::new(all))
}

/// The whole study in one multipart response, read to the end: one
/// request to check the size, then `count` timed.
pub async fn study_retrieve(base: &str, ct: &CtSeriesFiles, count: usize) -> Result<Latencies> {
    let client = client()?;
    let url = format!("{base}/studies/{}", ct.study_uid);
    let n = get_all(&client, &url, STUDY_ACCEPT).await?;
    // Parts may leave out the 128-byte preamble and "DICM"; nothing else.
    let least = ct.bytes - 132 * ct.files.len() as u64;
    if n < least {
        bail!("{url} returned {n} bytes, less than the {least} bytes of the study");
    }
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let t = Instant::now();
        get_all(&client, &url, STUDY_ACCEPT).await?;
        samples.push(t.elapsed());
    }
    Ok(Latencies::new(samples))
}
