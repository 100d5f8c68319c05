//! `dicom-samples`: write synthetic DICOM studies to disk.
//!
//! ```text
//! dicom-samples demo --out DIR
//! dicom-samples ct   --out DIR [--slices 300] [--rows 512 --cols 512] [--seed N]
//!                    [--region chest|head] [--transfer-syntax explicit|implicit|big|deflate]
//! dicom-samples xray --out DIR --kind dx|cr [--rows 2500 --cols 2048] [--seed N]
//! ```

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use dicom_samples::{
    CtRegion, CtSpec, Patient, SampleTransferSyntax, StudySpec, XrayKind, XraySpec, demo_studies,
    write_study,
};

#[derive(Parser)]
#[command(
    name = "dicom-samples",
    version,
    about = "Write synthetic DICOM studies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The demo set: CT chest, CT head, DX and CR chests of four patients.
    Demo {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// One CT series.
    Ct {
        #[command(flatten)]
        common: CommonArgs,
        /// Number of slices.
        #[arg(long, default_value_t = 300)]
        slices: u32,
        /// Rows per slice (the field of view is kept; pixel spacing scales).
        #[arg(long, default_value_t = 512)]
        rows: u16,
        /// Columns per slice.
        #[arg(long, default_value_t = 512)]
        cols: u16,
        /// Anatomy.
        #[arg(long, value_enum, default_value_t = RegionArg::Chest)]
        region: RegionArg,
        /// Seed for UIDs and noise.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Patient.
        #[arg(long, value_enum, default_value_t = PatientArg::Ivanov)]
        patient: PatientArg,
    },
    /// One chest radiograph.
    Xray {
        #[command(flatten)]
        common: CommonArgs,
        /// DX (MONOCHROME2) or CR (MONOCHROME1).
        #[arg(long, value_enum, default_value_t = KindArg::Dx)]
        kind: KindArg,
        /// Rows (the detector size is kept; pixel spacing scales).
        #[arg(long, default_value_t = 2500)]
        rows: u16,
        /// Columns.
        #[arg(long, default_value_t = 2048)]
        cols: u16,
        /// Seed for UIDs and noise.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Patient.
        #[arg(long, value_enum, default_value_t = PatientArg::Orinboyeva)]
        patient: PatientArg,
    },
}

#[derive(Args)]
struct CommonArgs {
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Transfer syntax of the written files.
    #[arg(long, value_enum, default_value_t = TsArg::Explicit)]
    transfer_syntax: TsArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum TsArg {
    Explicit,
    Implicit,
    Big,
    Deflate,
}

impl From<TsArg> for SampleTransferSyntax {
    fn from(t: TsArg) -> Self {
        match t {
            TsArg::Explicit => SampleTransferSyntax::ExplicitVrLittleEndian,
            TsArg::Implicit => SampleTransferSyntax::ImplicitVrLittleEndian,
            TsArg::Big => SampleTransferSyntax::ExplicitVrBigEndian,
            TsArg::Deflate => SampleTransferSyntax::DeflatedExplicitVrLittleEndian,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum RegionArg {
    Chest,
    Head,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Dx,
    Cr,
}

/// The sample patients, by family name.
#[derive(Clone, Copy, ValueEnum)]
enum PatientArg {
    /// Иванов Иван, ISO_IR 144.
    Ivanov,
    /// Иванова Мария, ISO_IR 192.
    Ivanova,
    /// Oʻrinboyeva Gʻuncha, ISO_IR 192.
    Orinboyeva,
    /// Karimov Rustam, ASCII.
    Karimov,
    /// Тошматов Шерзод, ISO_IR 192.
    Toshmatov,
}

impl From<PatientArg> for Patient {
    fn from(p: PatientArg) -> Self {
        match p {
            PatientArg::Ivanov => Patient::ivanov_iso_ir_144(),
            PatientArg::Ivanova => Patient::ivanova_utf8(),
            PatientArg::Orinboyeva => Patient::orinboyeva_utf8(),
            PatientArg::Karimov => Patient::karimov_ascii(),
            PatientArg::Toshmatov => Patient::toshmatov_utf8(),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (studies, common) = match cli.command {
        Command::Demo { common } => (demo_studies(), common),
        Command::Ct {
            common,
            slices,
            rows,
            cols,
            region,
            seed,
            patient,
        } => {
            let region = match region {
                RegionArg::Chest => CtRegion::Chest,
                RegionArg::Head => CtRegion::Head,
            };
            let spec = CtSpec::new(region, patient.into(), seed)
                .with_slices(slices)
                .with_matrix(rows, cols);
            (vec![StudySpec::Ct(spec)], common)
        }
        Command::Xray {
            common,
            kind,
            rows,
            cols,
            seed,
            patient,
        } => {
            let kind = match kind {
                KindArg::Dx => XrayKind::Dx,
                KindArg::Cr => XrayKind::Cr,
            };
            let spec = XraySpec::chest(kind, patient.into(), seed).with_matrix(rows, cols);
            (vec![StudySpec::Xray(spec)], common)
        }
    };
    let ts = SampleTransferSyntax::from(common.transfer_syntax);
    let mut total = 0;
    for study in &studies {
        let paths = write_study(study, &common.out, ts).with_context(|| {
            format!(
                "writing the {} study of patient {}",
                study.modality(),
                study.patient().id
            )
        })?;
        total += paths.len();
        if let Some(dir) = paths.first().and_then(|p| p.parent()) {
            println!(
                "{:>4} {} instance(s) in {}",
                paths.len(),
                study.modality(),
                dir.display()
            );
        }
    }
    println!(
        "{total} file(s) written below {} ({})",
        common.out.display(),
        ts.uid()
    );
    Ok(())
}
