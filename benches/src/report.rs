//! The final table: each figure, its target, whether it is met, the
//! reference measured in the same run, and the ratio between them.

use std::fmt::Write;

/// Units figures are kept and shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Count per second (instances, studies).
    PerSecond,
    /// Megabytes (10^6) per second.
    MegabytesPerSecond,
    /// Kept in seconds, shown in milliseconds.
    Milliseconds,
    Seconds,
    Mebibytes,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Unit::PerSecond => format!("{v:.0}/s"),
            Unit::MegabytesPerSecond => format!("{v:.0} MB/s"),
            Unit::Milliseconds if v * 1e3 < 10.0 => format!("{:.2} ms", v * 1e3),
            Unit::Milliseconds => format!("{:.1} ms", v * 1e3),
            Unit::Seconds => format!("{v:.3} s"),
            Unit::Mebibytes => format!("{v:.0} MiB"),
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(self, Unit::PerSecond | Unit::MegabytesPerSecond)
    }
}

/// A measured value, or why there is none.
#[derive(Debug, Clone)]
pub enum Value {
    Measured(f64),
    Absent(String),
}

impl Value {
    fn measured(&self) -> Option<f64> {
        match self {
            Value::Measured(v) if v.is_finite() => Some(*v),
            _ => None,
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub figure: String,
    pub unit: Unit,
    pub pacs: Value,
    pub target: Option<f64>,
    pub reference: Value,
}

impl Row {
    pub fn met(&self) -> Option<bool> {
        let (v, t) = (self.pacs.measured()?, self.target?);
        Some(if self.unit.higher_is_better() {
            v >= t
        } else {
            v <= t
        })
    }

    /// Above 1 when the archive is better: its speed over the reference's,
    /// or the reference's time (or memory) over its own.
    pub fn ratio(&self) -> Option<f64> {
        let (p, r) = (self.pacs.measured()?, self.reference.measured()?);
        let ratio = if self.unit.higher_is_better() {
            p / r
        } else {
            r / p
        };
        ratio.is_finite().then_some(ratio)
    }

    fn cells(&self) -> [String; 6] {
        let show = |v: &Value| match v {
            Value::Measured(x) if x.is_finite() => self.unit.show(*x),
            Value::Measured(_) => "n/a".into(),
            Value::Absent(why) => why.clone(),
        };
        let target = match self.target {
            Some(t) if self.unit.higher_is_better() => format!("≥ {}", self.unit.show(t)),
            Some(t) => format!("≤ {}", self.unit.show(t)),
            None => "-".into(),
        };
        let met = match self.met() {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let ratio = match self.ratio() {
            Some(r) if r >= 10.0 => format!("{r:.0}×"),
            Some(r) => format!("{r:.2}×"),
            None => "-".into(),
        };
        [
            self.figure.clone(),
            show(&self.pacs),
            target,
            met.into(),
            show(&self.reference),
            ratio,
        ]
    }
}

/// Prints which targets were missed (or that none was) and returns
/// whether every target with a figure was met.
pub fn verdict(rows: &[Row]) -> bool {
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| r.met() == Some(false))
        .map(|r| r.figure.as_str())
        .collect();
    if missed.is_empty() {
        println!("every target with a figure is met");
    } else {
        println!("targets missed: {}", missed.join("; "));
    }
    missed.is_empty()
}

/// The table as text, one row per line, columns padded.
pub fn table(rows: &[Row]) -> String {
    let header = ["figure", "pacs", "target", "met?", "reference", "ratio"].map(String::from);
    let body: Vec<[String; 6]> = rows.iter().map(Row::cells).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for cells in &body {
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let mut s = String::from("|");
        for (c, w) in cells.iter().zip(widths) {
            let pad = w - c.chars().count();
            let _ = write!(s, " {c}{} |", " ".repeat(pad));
        }
        s
    };
    let mut out = line(&header);
    out.push('\n');
    out.push('|');
    for w in widths {
        out.push_str(&"-".repeat(w + 2));
        out.push('|');
    }
    for cells in &body {
        out.push('\n');
        out.push_str(&line(cells));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_above_one_when_the_archive_is_better() {
        let speed = Row {
            figure: "ingest".into(),
            unit: Unit::PerSecond,
            pacs: Value::Measured(400.0),
            target: Some(400.0),
            reference: Value::Measured(20.0),
        };
        assert_eq!(speed.ratio(), Some(20.0));
        assert_eq!(speed.met(), Some(true));
        let time = Row {
            figure: "metadata".into(),
            unit: Unit::Milliseconds,
            pacs: Value::Measured(0.020),
            target: Some(0.015),
            reference: Value::Absent("reference not installed".into()),
        };
        assert_eq!(time.ratio(), None);
        assert_eq!(time.met(), Some(false));
        assert!(table(&[speed, time]).contains("| NO "));
    }
}
