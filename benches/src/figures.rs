//! The archive's performance targets, and the table rows that hold each
//! measured figure against its target and the reference.

use crate::bench::{Fig, Outcome, Settings};
use crate::dimse::IngestRun;
use crate::qido::KINDS;
use crate::report::{Row, Unit, Value};
use crate::stats::Latencies;

/// Instances per second over one association, durable and indexed.
pub const INGEST_ONE_ASSOCIATION: f64 = 400.0;
/// Over four associations, at least the one-association target.
pub const INGEST_FOUR_ASSOCIATIONS: f64 = 400.0;
/// "Near disk speed": this share of what the disk offers to four writers
/// storing 512 KiB files durably (see [`crate::disk`]), measured in the run.
pub const DISK_SHARE: f64 = 2.0 / 3.0;
/// Series metadata of 300 instances, median.
pub const METADATA_300: f64 = 0.015;
/// One frame under concurrent load, median.
pub const FRAME: f64 = 0.002;
/// The whole 300-instance study, median.
pub const STUDY_300: f64 = 0.2;
/// Each kind of study search, median (QIDO-RS; C-FIND is held to the
/// same).
pub const SEARCH: f64 = 0.010;
/// Peak RSS of the server while ingesting: memory per association stays bounded.
pub const PEAK_RSS_MIB: f64 = 256.0;

/// The median of search kind `k` among a run's searches.
fn kind_median(fig: &Fig<Vec<Latencies>>, k: usize) -> Value {
    match fig {
        Ok(all) => all.get(k).map_or(Value::Absent("missing".into()), |l| {
            Value::Measured(l.median())
        }),
        Err(why) => Value::Absent(why.clone()),
    }
}

fn value<T>(fig: &Fig<T>, f: impl Fn(&T) -> f64) -> Value {
    match fig {
        Ok(x) => Value::Measured(f(x)),
        Err(why) => Value::Absent(why.clone()),
    }
}

fn row(
    figure: impl Into<String>,
    unit: Unit,
    pacs: Value,
    target: Option<f64>,
    reference: Value,
) -> Row {
    Row {
        figure: figure.into(),
        unit,
        pacs,
        target,
        reference,
    }
}

/// Every row of the final table.
pub fn rows(o: &Outcome, s: &Settings) -> Vec<Row> {
    let (p, r) = (&o.pacs, &o.reference);
    // Size-bound targets were set for 300 slices; a quick run scales them.
    let size_scale = f64::from(s.slices) / 300.0;
    let slices = s.slices;
    let ips = |run: &IngestRun| run.instances_per_s();
    let mbps = |run: &IngestRun| run.mb_per_s();
    let rss = |run: &IngestRun| run.peak_rss_kib.map_or(f64::NAN, |k| k as f64 / 1024.0);
    let median = |l: &Latencies| l.median();
    let p95 = |l: &Latencies| l.p95();
    let mut rows = vec![
        row(
            format!("C-STORE {slices} CT, 1 association"),
            Unit::PerSecond,
            value(&p.ingest1, ips),
            Some(INGEST_ONE_ASSOCIATION),
            value(&r.ingest1, ips),
        ),
        row(
            format!("C-STORE {slices} CT, 4 associations"),
            Unit::PerSecond,
            value(&p.ingest4, ips),
            Some(INGEST_FOUR_ASSOCIATIONS),
            value(&r.ingest4, ips),
        ),
        row(
            format!("C-STORE {slices} CT, 4 associations"),
            Unit::MegabytesPerSecond,
            value(&p.ingest4, mbps),
            o.disk.map(|d| d.parallel_mb_per_s() * DISK_SHARE),
            value(&r.ingest4, mbps),
        ),
        row(
            format!("series /metadata ({slices}), median"),
            Unit::Milliseconds,
            value(&p.metadata, median),
            Some(METADATA_300 * size_scale),
            value(&r.metadata, median),
        ),
        row(
            format!("series /metadata ({slices}), p95"),
            Unit::Milliseconds,
            value(&p.metadata, p95),
            None,
            value(&r.metadata, p95),
        ),
        row(
            "/frames/1, 4 clients, median",
            Unit::Milliseconds,
            value(&p.frames, median),
            Some(FRAME),
            value(&r.frames, median),
        ),
        row(
            "/frames/1, 4 clients, p95",
            Unit::Milliseconds,
            value(&p.frames, p95),
            None,
            value(&r.frames, p95),
        ),
        row(
            format!("whole study ({:.0} MB), median", o.ct_bytes as f64 / 1e6),
            Unit::Seconds,
            value(&p.retrieve, median),
            Some(STUDY_300 * size_scale),
            value(&r.retrieve, median),
        ),
        row(
            "STOW-RS load of tiny studies",
            Unit::PerSecond,
            value(&p.load, |l| l.per_s()),
            None,
            value(&r.load, |l| l.per_s()),
        ),
    ];
    let studies = crate::bench::group_thousands(s.studies);
    for (k, kind) in KINDS.iter().enumerate() {
        rows.push(row(
            format!("QIDO {kind} ({studies}), median"),
            Unit::Milliseconds,
            kind_median(&p.searches, k),
            Some(SEARCH),
            kind_median(&r.searches, k),
        ));
    }
    for (k, kind) in crate::cfind::KINDS.iter().enumerate() {
        rows.push(row(
            format!("C-FIND study {kind} ({studies}), median"),
            Unit::Milliseconds,
            kind_median(&p.finds, k),
            Some(SEARCH),
            kind_median(&r.finds, k),
        ));
    }
    rows.push(row(
        "peak RSS, C-STORE 1 association",
        Unit::Mebibytes,
        value(&p.ingest1, rss),
        Some(PEAK_RSS_MIB),
        value(&r.ingest1, rss),
    ));
    rows.push(row(
        "peak RSS, C-STORE 4 associations",
        Unit::Mebibytes,
        value(&p.ingest4, rss),
        Some(PEAK_RSS_MIB),
        value(&r.ingest4, rss),
    ));
    rows
}
