//! The search figures: loading many tiny studies over STOW-RS, then timing
//! typical QIDO-RS study searches.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::StreamExt;

use crate::data::{BOUNDARY, DATE_SPAN_DAYS, day, tiny_study};
use crate::stats::{Latencies, Lcg};
use crate::web::client;

/// How a load went.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub studies: u64,
    pub seconds: f64,
}

impl Load {
    pub fn per_s(&self) -> f64 {
        self.studies as f64 / self.seconds
    }
}

/// POSTs `bodies` (each `per_body` studies) to `{base}/studies`, `parallel`
/// requests at a time; sends no new request after `deadline`.
pub async fn stow_load(
    base: &str,
    bodies: &[Bytes],
    per_body: u64,
    total_studies: u64,
    parallel: usize,
    deadline: Option<Instant>,
) -> Result<Load> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let url = format!("{base}/studies");
    let content_type =
        format!("multipart/related; type=\"application/dicom\"; boundary={BOUNDARY}");
    let start = Instant::now();
    let sent = std::sync::atomic::AtomicU64::new(0);
    let mut answers = futures::stream::iter(bodies.iter().cloned())
        .take_while(|_| futures::future::ready(deadline.is_none_or(|d| Instant::now() < d)))
        .map(|body| {
            sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let request = client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, &content_type)
                .header(reqwest::header::ACCEPT, "application/dicom+json")
                .body(body);
            async move {
                let response = request.send().await.context("STOW-RS request")?;
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                if status != reqwest::StatusCode::OK {
                    bail!(
                        "STOW-RS answered {status}: {}",
                        text.chars().take(300).collect::<String>()
                    );
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(parallel.max(1));
    while let Some(answer) = answers.next().await {
        answer?;
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(answers);
    let studies = (sent.load(std::sync::atomic::Ordering::Relaxed) * per_body).min(total_studies);
    Ok(Load { studies, seconds })
}

/// The kinds of search timed, each with its own figure.
pub const KINDS: [&str; 4] = [
    "PatientID exact",
    "PatientName prefix*, limit 25",
    "StudyDate 14-day range, limit 25",
    "ModalitiesInStudy, limit 25",
];

/// A query string for search `kind` with values drawn from `rng`, and the fewest and most
/// results it must return, over `studies` loaded tiny studies.
fn query(kind: usize, rng: &mut Lcg, studies: u64) -> (String, usize, usize) {
    match kind {
        0 => {
            let s = tiny_study(rng.below(studies));
            (format!("PatientID={}", s.patient_id), 1, 1)
        }
        1 => {
            let s = tiny_study(rng.below(studies));
            let prefix: String = s.family_name.chars().take(4).collect();
            (format!("PatientName={prefix}*&limit=25"), 1, 25)
        }
        2 => {
            let from = rng.below(DATE_SPAN_DAYS - 14);
            let (a, b) = (day(from).to_dicom(), day(from + 13).to_dicom());
            (format!("StudyDate={a}-{b}&limit=25"), 1, 25)
        }
        _ => {
            let modality = ["CT", "DX", "CR"][rng.below(3) as usize];
            (format!("ModalitiesInStudy={modality}&limit=25"), 1, 25)
        }
    }
}

/// Runs every kind of search `rounds` times, interleaved, after one
/// untimed round; checks each answer's size. One client, one request at a time.
pub async fn searches(base: &str, studies: u64, rounds: usize) -> Result<Vec<Latencies>> {
    let client = client()?;
    let mut rng = Lcg::new(studies);
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); KINDS.len()];
    for round in 0..=rounds {
        for (kind, kind_samples) in samples.iter_mut().enumerate() {
            let (q, least, most) = query(kind, &mut rng, studies);
            let url = format!("{base}/studies?{q}");
            let t = Instant::now();
            let response = client
                .get(&url)
                .header(reqwest::header::ACCEPT, "application/dicom+json")
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            let status = response.status();
            let body = response.bytes().await?;
            let elapsed = t.elapsed();
            if !status.is_success() && status != reqwest::StatusCode::NO_CONTENT {
                bail!("GET {url} answered {status}");
            }
            let n = if body.is_empty() {
                0
            } else {
                serde_json::from_slice::<serde_json::Value>(&body)
                    .with_context(|| format!("{url} is not JSON"))?
                    .as_array()
                    .map(Vec::len)
                    .unwrap_or(0)
            };
            if n < least || n > most {
                bail!("GET {url} returned {n} studies, expected {least} to {most}");
            }
            if round > 0 {
                kind_samples.push(elapsed);
            }
        }
    }
    Ok(samples.into_iter().map(Latencies::new).collect())
}
