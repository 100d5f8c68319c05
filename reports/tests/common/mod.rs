//! Reports to render, and the external tools that check the output.

#![allow(dead_code)] // each test binary uses part of this module

use std::path::PathBuf;

use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb, RgbImage};
use reports::{
    CriticalFinding, KeyImage, Lang, ReportDocument, Sections, SignedVersion, VersionKind,
};

/// 2026-03-01T09:05:07Z.
pub const SIGNED_AT: i64 = 1_772_355_907_000;
pub const STUDY_UID: &str = "1.2.826.0.1.3680043.8.498.1234567890";
pub const IMPRESSION_RU: &str = "Очаговое образование верхней доли правого лёгкого размером \
до 23 мм, подозрительное на периферический рак. Рекомендована консультация онколога.";
pub const ADDENDUM_REASON_RU: &str = "Сравнение с предыдущим исследованием от 12.01.2026";
pub const CRITICAL_NOTE_RU: &str = "Пневмоторакс справа, коллапс лёгкого около 30%.";

/// A green-dominant gradient: no colour the PDF itself uses is green.
pub fn green_gradient_png() -> Vec<u8> {
    let img = RgbImage::from_fn(480, 320, |x, y| {
        let g = 90 + (x * 160 / 480) as u8;
        let b = (y * 60 / 320) as u8;
        Rgb([10, g, b])
    });
    png(DynamicImage::ImageRgb8(img))
}

/// A greyscale gradient, as a CT slice would come from the archive.
pub fn grey_gradient_png() -> Vec<u8> {
    let img = GrayImage::from_fn(256, 256, |x, y| Luma([((x + y) / 2) as u8]));
    png(DynamicImage::ImageLuma8(img))
}

fn png(img: DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

/// Findings long enough to need several pages.
pub fn long_findings_ru() -> String {
    let organs = [
        "Лёгкие и дыхательные пути: в верхней доле правого лёгкого (S2) определяется \
солидное образование с неровными, лучистыми контурами размером 23 × 18 мм, прилежащее к \
висцеральной плевре. Других очагов и инфильтративных изменений не выявлено.",
        "Плевра: небольшое количество жидкости в правой плевральной полости, толщина слоя до \
8 мм. Пневмоторакс справа с коллапсом лёгкого около 30%.",
        "Средостение и корни лёгких: увеличенный лимфатический узел бифуркационной группы \
размером 14 мм по короткой оси. Остальные лимфатические узлы не увеличены.",
        "Сердце и крупные сосуды: размеры сердца не увеличены, выпота в полости перикарда нет.",
        "Кости: подозрительных на вторичное поражение изменений не выявлено.",
    ];
    let mut text = String::new();
    for round in 1..=6 {
        for organ in organs {
            text.push_str(&format!("{organ} (серия {round})\n"));
        }
    }
    text.trim_end().to_string()
}

pub fn russian_report() -> ReportDocument {
    ReportDocument {
        patient_name: "Иванов^Иван^Петрович".into(),
        patient_id: "P-000123".into(),
        patient_birth_date: Some("19650412".into()),
        patient_sex: Some("M".into()),
        study_uid: STUDY_UID.into(),
        accession_number: Some("A2026-0042".into()),
        study_date: Some("20260301".into()),
        study_time: Some("084512".into()),
        study_description: Some("КТ органов грудной клетки".into()),
        modalities: vec!["CT".into(), "SR".into()],
        referring_physician: Some("Karimova^Oʻgʻiloy".into()),
        site: Some("Toshkent, Chilonzor filiali".into()),
        institution_name: Some("Республиканский диагностический центр".into()),
        language: Lang::Ru,
        utc_offset_minutes: 300,
        versions: vec![
            SignedVersion {
                version: 1,
                kind: VersionKind::Final,
                sections: Some(Sections {
                    clinical_information: "Кашель в течение 3 месяцев, потеря веса.".into(),
                    technique: "Спиральная КТ грудной клетки с внутривенным контрастированием."
                        .into(),
                    comparison: String::new(),
                    findings: long_findings_ru(),
                    impression: IMPRESSION_RU.into(),
                }),
                reason: None,
                text: None,
                signed_by: "Д-р Петров А. В.".into(),
                signed_at: SIGNED_AT,
            },
            SignedVersion {
                version: 2,
                kind: VersionKind::Addendum,
                sections: None,
                reason: Some(ADDENDUM_REASON_RU.into()),
                text: Some(
                    "По сравнению с исследованием от 12.01.2026 образование увеличилось с 15 \
до 23 мм."
                        .into(),
                ),
                signed_by: "Д-р Петров А. В.".into(),
                signed_at: SIGNED_AT + 3_600_000,
            },
        ],
        key_images: vec![
            KeyImage {
                caption: "Образование верхней доли правого лёгкого, серия 3, срез 41".into(),
                png: green_gradient_png(),
            },
            KeyImage {
                caption: "Пневмоторакс справа".into(),
                png: grey_gradient_png(),
            },
        ],
        critical: Some(CriticalFinding {
            note: CRITICAL_NOTE_RU.into(),
            flagged_by: "Д-р Петров А. В.".into(),
            flagged_at: SIGNED_AT - 600_000,
            acknowledged_by: Some("Karimova O.".into()),
            acknowledged_at: Some(SIGNED_AT - 300_000),
        }),
    }
}

/// `name` from /usr/bin or PATH. When it is missing, the test is skipped
/// with a message, unless PACS_REQUIRE_TOOLS=1 makes that a failure.
pub fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("PACS_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{name} is required (PACS_REQUIRE_TOOLS=1) but missing: apt-get install {package}"
        );
        eprintln!("skipped: {name} not found (apt-get install {package} to run this test)");
    }
    found
}
