//! The PDF as poppler reads and renders it: text extraction finds what a
//! reader must see, pages break, the fonts are embedded subsets, and the
//! key images are on the page.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use reports::{Lang, ReportError, Sections, SignedVersion, VersionKind, pdf, template};

/// Runs a poppler tool; its stderr must be empty (poppler reports every
/// syntax problem it meets there).
fn run(tool: &Path, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().expect("run poppler");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {args:?}: {stderr}",
        tool.display()
    );
    assert!(
        stderr.trim().is_empty(),
        "{} complained: {stderr}",
        tool.display()
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Poppler {
    pdftotext: PathBuf,
    pdftoppm: PathBuf,
    pdfinfo: PathBuf,
    pdffonts: PathBuf,
}

fn poppler() -> Option<Poppler> {
    Some(Poppler {
        pdftotext: tool("pdftotext", "poppler-utils")?,
        pdftoppm: tool("pdftoppm", "poppler-utils")?,
        pdfinfo: tool("pdfinfo", "poppler-utils")?,
        pdffonts: tool("pdffonts", "poppler-utils")?,
    })
}

fn text_of(p: &Poppler, file: &Path) -> String {
    run(
        &p.pdftotext,
        &["-enc", "UTF-8", file.to_str().expect("path"), "-"],
    )
}

fn page_count(p: &Poppler, file: &Path) -> usize {
    let info = run(&p.pdfinfo, &[file.to_str().expect("path")]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("page count")
}

/// Renders every page at 50 dpi; the pages in order.
fn render(p: &Poppler, file: &Path, dir: &Path) -> Vec<image::RgbImage> {
    let prefix = dir.join("page");
    run(
        &p.pdftoppm,
        &[
            "-png",
            "-r",
            "50",
            file.to_str().expect("path"),
            prefix.to_str().expect("path"),
        ],
    );
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| image::open(f).expect("page PNG").to_rgb8())
        .collect()
}

fn count(img: &image::RgbImage, pred: impl Fn([u8; 3]) -> bool) -> usize {
    img.pixels().filter(|p| pred(p.0)).count()
}

#[test]
fn long_russian_report_reads_and_renders() {
    let Some(p) = poppler() else { return };
    let doc = russian_report();
    let bytes = pdf(&doc).expect("pdf");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &bytes).expect("write");

    let text = text_of(&p, &file);
    let flat = squash(&text);
    for expected in [
        "Иванов, Иван Петрович",
        "P-000123",
        "12.04.1965",
        "Мужской",
        "Протокол лучевого исследования",
        "Республиканский диагностический центр",
        "КТ органов грудной клетки",
        "01.03.2026 08:45",
        "A2026-0042",
        "CT, SR",
        "Karimova, Oʻgʻiloy",
        "Клинические данные",
        "Методика исследования",
        "Описание",
        "Заключение",
        "Критическая находка",
        CRITICAL_NOTE_RU,
        "Дополнение 1",
        ADDENDUM_REASON_RU,
        "Подписал(а): Д-р Петров А. В., 01.03.2026 14:05 (UTC+05:00)",
        "Ключевые изображения",
        "1. Образование верхней доли правого лёгкого",
        "2. Пневмоторакс справа",
    ] {
        assert!(
            flat.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(
        flat.contains(&squash(IMPRESSION_RU)),
        "impression missing:\n{text}"
    );
    // The comparison section is empty and left out: its title appears only
    // inside the addendum's reason.
    assert_eq!(flat.matches("Сравнение").count(), 1, "{text}");
    // The order a reader expects: critical finding, sections, addendum, images.
    let at = |s: &str| flat.find(s).unwrap_or(usize::MAX);
    assert!(at("Критическая находка") < at("Клинические данные"));
    assert!(at("Клинические данные") < at("Заключение"));
    assert!(at("Заключение") < at("Дополнение 1"));
    assert!(at("Дополнение 1") < at("Ключевые изображения"));

    let pages = page_count(&p, &file);
    assert!(pages > 1, "a long report has {pages} page(s)");
    assert!(flat.contains(&format!("Страница 1 из {pages}")), "{text}");
    assert!(
        flat.contains(&format!("Страница {pages} из {pages}")),
        "{text}"
    );
    // Later pages repeat the patient in their header.
    assert!(flat.matches("Иванов, Иван Петрович · P-000123").count() >= pages - 1);

    let fonts = run(&p.pdffonts, &[file.to_str().expect("path")]);
    let rows: Vec<_> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    assert!(rows[0].contains("+DejaVuSans "), "{fonts}");
    assert!(rows[1].contains("+DejaVuSans-Bold "), "{fonts}");
    for row in rows {
        assert!(row.contains("CID TrueType"), "{fonts}");
        // emb, sub, uni
        assert!(row.contains("yes yes yes"), "{fonts}");
    }
    // Subset fonts and compressed images keep it small.
    assert!(bytes.len() < 200_000, "{} bytes", bytes.len());

    let rendered = render(&p, &file, dir.path());
    assert_eq!(rendered.len(), pages);
    let dark = count(&rendered[0], |[r, g, b]| r < 90 && g < 90 && b < 90);
    assert!(dark > 500, "page 1 has {dark} dark pixels");
    let reddish = count(&rendered[0], |[r, g, b]| {
        r > 230 && g < 240 && b < 240 && r > g + 12
    });
    assert!(
        reddish > 2_000,
        "no critical-finding box on page 1 ({reddish} pixels)"
    );
    let green = |img: &image::RgbImage| {
        count(img, |[r, g, b]| {
            i32::from(g) > i32::from(r) + 60 && i32::from(g) > i32::from(b) + 60
        })
    };
    let (image_page, most) = rendered
        .iter()
        .map(green)
        .enumerate()
        .max_by_key(|(_, n)| *n)
        .expect("pages");
    // At 50 dpi the 495-point-wide image covers about 340 × 230 pixels.
    assert!(most > 40_000, "the gradient covers {most} pixels");
    assert!(
        image_page > 0,
        "the key image should follow the report text"
    );
    // The gradient runs from left to right: brighter green on the right.
    let img = &rendered[image_page];
    let column_green = |x: u32| {
        (0..img.height())
            .map(|y| img.get_pixel(x, y).0)
            .filter(|[r, g, b]| {
                i32::from(*g) > i32::from(*r) + 60 && i32::from(*g) > i32::from(*b) + 60
            })
            .map(|[_, g, _]| u32::from(g))
            .max()
            .unwrap_or(0)
    };
    let w = img.width();
    assert!(column_green(w * 3 / 4) > column_green(w / 4) + 40);
    // The grey image: a large area of mid greys, which text alone never makes.
    let greys = rendered
        .iter()
        .map(|img| count(img, |[r, g, b]| r == g && g == b && (40..=200).contains(&r)))
        .max()
        .unwrap_or(0);
    assert!(greys > 20_000, "{greys} grey pixels");
}

#[test]
fn uzbek_and_english_reports_render_their_own_words() {
    let Some(p) = poppler() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    for (lang, title, impression_title) in [
        (
            Lang::Uz,
            "Nur diagnostikasi tekshiruvi bayonnomasi",
            "Xulosa",
        ),
        (Lang::En, "Radiology report", "Impression"),
    ] {
        let mut doc = russian_report();
        doc.language = lang;
        doc.patient_name = "Toʻxtayeva^Gʻulomjon".into();
        doc.key_images.clear();
        doc.critical = None;
        doc.versions.truncate(1);
        let sections = template(lang, "chest-xray").expect("template").sections;
        doc.versions[0].sections = Some(sections.clone());
        let file = dir.path().join(format!("{lang:?}.pdf"));
        std::fs::write(&file, pdf(&doc).expect("pdf")).expect("write");
        let flat = squash(&text_of(&p, &file));
        for expected in [title, impression_title, "Toʻxtayeva, Gʻulomjon"] {
            assert!(
                flat.contains(expected),
                "{lang:?}: {expected:?} missing from {flat}"
            );
        }
        assert!(
            flat.contains(&squash(&sections.impression)),
            "{lang:?}: {flat}"
        );
        assert_eq!(page_count(&p, &file), 1, "{lang:?}");
    }
}

#[test]
fn preliminary_report_says_so() {
    let Some(p) = poppler() else { return };
    let mut doc = russian_report();
    doc.language = Lang::En;
    doc.versions.truncate(1);
    doc.versions[0].kind = VersionKind::Preliminary;
    doc.versions[0].sections = Some(Sections {
        findings: "Short.".into(),
        impression: "Pneumothorax.".into(),
        ..Sections::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("prelim.pdf");
    std::fs::write(&file, pdf(&doc).expect("pdf")).expect("write");
    let flat = squash(&text_of(&p, &file));
    assert!(flat.contains("PRELIMINARY REPORT"), "{flat}");
    assert!(
        flat.contains("Preliminary report by: Д-р Петров А. В."),
        "{flat}"
    );
}

#[test]
fn unsigned_or_broken_input_is_refused() {
    let mut doc = russian_report();
    doc.key_images[1].png = b"\x89PNG but not really".to_vec();
    let err = pdf(&doc).expect_err("broken PNG");
    assert!(
        matches!(err, ReportError::KeyImage { index: 1, .. }),
        "{err}"
    );

    let mut doc = russian_report();
    doc.versions.clear();
    assert!(matches!(pdf(&doc), Err(ReportError::NotSigned)));

    let mut doc = russian_report();
    doc.versions.insert(
        0,
        SignedVersion {
            version: 1,
            kind: VersionKind::Addendum,
            sections: None,
            reason: None,
            text: Some("too early".into()),
            signed_by: "x".into(),
            signed_at: 0,
        },
    );
    assert!(pdf(&doc).is_err());
}

#[test]
fn the_same_report_gives_the_same_bytes() {
    let doc = russian_report();
    assert_eq!(pdf(&doc).expect("pdf"), pdf(&doc).expect("pdf"));
}

/// A name with a second form shows both where the typeface has the
/// glyphs (Cyrillic beside Latin), and the Latin one alone where it does
/// not (kanji): never a row of question marks.
#[test]
fn a_name_with_two_forms_shows_what_the_typeface_can() {
    let Some(p) = poppler() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, shown, absent) in [
        (
            "Ivanov^Ivan=Иванов^Иван",
            "Ivanov, Ivan (Иванов, Иван)",
            "?",
        ),
        ("Yamada^Tarou=山田^太郎", "Yamada, Tarou", "山田"),
    ] {
        let mut doc = russian_report();
        doc.patient_name = name.into();
        let file = dir.path().join("name.pdf");
        std::fs::write(&file, pdf(&doc).expect("pdf")).expect("write");
        let flat = squash(&text_of(&p, &file));
        assert!(flat.contains(shown), "{name}: {flat}");
        assert!(
            !flat.contains(&format!("{shown} ({absent}")),
            "{name}: {flat}"
        );
        assert!(!flat.contains("(??"), "{name}: {flat}");
    }
}
