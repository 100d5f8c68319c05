use super::*;

/// Every character is half an em wide (bold: 0.6 em).
struct Fixed;

impl Measure for Fixed {
    fn width(&self, text: &str, bold: bool, size: f32) -> f32 {
        let em = if bold { 0.6 } else { 0.5 };
        text.chars().count() as f32 * em * size
    }
}

/// One unit per character.
fn unit(s: &str) -> f32 {
    s.chars().count() as f32
}

const BODY: Style = Style::new(10.0, false, INK);
const TITLE: Style = Style::new(12.0, true, ACCENT);

fn texts(page: &[Op]) -> Vec<(f32, String)> {
    page.iter()
        .filter_map(|op| match op {
            Op::Text { y, text, .. } => Some((*y, text.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn wraps_at_spaces() {
    assert_eq!(
        wrap("the quick brown fox jumps", 10.0, unit),
        ["the quick", "brown fox", "jumps"]
    );
    // Exactly full lines are allowed.
    assert_eq!(wrap("aaaa bbbbb", 10.0, unit), ["aaaa bbbbb"]);
    assert_eq!(wrap("aaaa bbbbbb", 10.0, unit), ["aaaa", "bbbbbb"]);
}

#[test]
fn keeps_line_breaks_and_blank_lines_and_collapses_spaces() {
    assert_eq!(
        wrap("Liver: normal.\n\nSpleen:   normal.\t", 40.0, unit),
        ["Liver: normal.", "", "Spleen: normal."]
    );
    assert_eq!(wrap("", 10.0, unit), [""]);
}

#[test]
fn breaks_a_word_wider_than_the_line() {
    assert_eq!(
        wrap("ok гиперденсныйсимптом end", 6.0, unit),
        ["ok", "гиперд", "енсный", "симпто", "м end"]
    );
    // A line narrower than one character still makes progress.
    assert_eq!(wrap("abc", 0.5, unit), ["a", "b", "c"]);
}

#[test]
fn wrapped_lines_never_exceed_the_width() {
    let text = "Лёгкие и дыхательные пути: инфильтрации, объёмных образований и \
подозрительных очагов не выявлено. Oʻpkalar va nafas yoʻllari: infiltratsiya.\n"
        .repeat(20);
    for max in [8.0, 17.0, 40.0, 73.0] {
        let lines = wrap(&text, max, unit);
        assert!(lines.iter().all(|l| unit(l) <= max), "{max}");
        // Nothing is lost but whitespace.
        let original: String = text.split_whitespace().collect();
        let joined: String = lines.concat().split_whitespace().collect();
        assert_eq!(original, joined);
    }
}

#[test]
fn long_paragraph_breaks_across_pages_in_order() {
    let geometry = Geometry::A4;
    let mut flow = Flow::new(&Fixed, geometry);
    let text: String = (0..400).map(|i| format!("line{i:03}\n")).collect();
    flow.paragraph(&text, BODY, 0.0, 0.0);
    let pages = flow.into_pages();
    // 400 lines of 13.5 pt on ~700 pt pages.
    assert!(pages.len() >= 7, "{}", pages.len());
    let mut expected = 0;
    for page in &pages {
        let lines = texts(page);
        assert!(!lines.is_empty());
        for (y, text) in lines {
            assert!(y >= geometry.bottom, "{text} at {y}");
            assert!(y <= geometry.first_top, "{text} at {y}");
            assert_eq!(text, format!("line{expected:03}"));
            expected += 1;
        }
    }
    assert_eq!(expected, 400);
    // Each page is filled before the next starts: the last line of a full
    // page sits within one leading of the bottom margin.
    let last_y = texts(&pages[1]).last().map(|(y, _)| *y).unwrap_or(0.0);
    assert!(last_y - geometry.bottom < 2.0 * BODY.leading(), "{last_y}");
}

#[test]
fn a_heading_is_never_the_last_line_of_a_page() {
    let geometry = Geometry::A4;
    let mut flow = Flow::new(&Fixed, geometry);
    // Fill the page until less than a heading and two lines remain.
    while flow.y() - geometry.bottom > TITLE.leading() + BODY.leading() {
        flow.paragraph("filler", BODY, 0.0, 0.0);
    }
    assert_eq!(flow.page_count(), 1);
    flow.heading("Findings", TITLE, 2.0 * BODY.leading());
    flow.paragraph("first line", BODY, 0.0, 0.0);
    let pages = flow.into_pages();
    assert_eq!(pages.len(), 2);
    let second = texts(&pages[1]);
    assert_eq!(second[0].1, "Findings");
    assert_eq!(second[1].1, "first line");
}

#[test]
fn space_is_dropped_at_the_top_of_a_page() {
    let mut flow = Flow::new(&Fixed, Geometry::A4);
    flow.new_page();
    let top = flow.y();
    flow.space(20.0);
    assert_eq!(flow.y(), top);
    flow.paragraph("x", BODY, 0.0, 0.0);
    flow.space(20.0);
    assert!(flow.y() < top - 20.0);
}

#[test]
fn a_tall_box_continues_on_the_next_page() {
    let geometry = Geometry::A4;
    let mut flow = Flow::new(&Fixed, geometry);
    flow.paragraph(&"filler\n".repeat(40), BODY, 0.0, 0.0);
    let lines: Vec<(String, Style)> = (0..60).map(|i| (format!("box{i:02}"), BODY)).collect();
    flow.boxed(&lines, Rgb(1.0, 0.9, 0.9), ALERT);
    let pages = flow.into_pages();
    assert_eq!(pages.len(), 2);
    let mut seen = Vec::new();
    for page in &pages {
        let rects: Vec<_> = page
            .iter()
            .filter_map(|op| match op {
                Op::Rect { y, h, .. } => Some((*y, *h)),
                _ => None,
            })
            .collect();
        assert_eq!(rects.len(), 1);
        let (y, h) = rects[0];
        assert!(y >= geometry.bottom - 0.01);
        for (ty, text) in texts(page) {
            if text.starts_with("box") {
                // Every line of the box lies inside its rectangle.
                assert!(ty > y && ty < y + h, "{text}");
                seen.push(text);
            }
        }
    }
    let expected: Vec<_> = (0..60).map(|i| format!("box{i:02}")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn images_fit_the_width_and_keep_their_aspect_ratio() {
    let geometry = Geometry::A4;
    let mut flow = Flow::new(&Fixed, geometry);
    flow.image(0, (2000, 1000), "wide", 300.0);
    flow.image(1, (500, 1000), "tall", 300.0);
    flow.image(2, (512, 512), "third goes to page two", 300.0);
    let pages = flow.into_pages();
    assert_eq!(pages.len(), 2);
    let images: Vec<_> = pages
        .iter()
        .flatten()
        .filter_map(|op| match op {
            Op::Image { index, x, y, w, h } => Some((*index, *x, *y, *w, *h)),
            _ => None,
        })
        .collect();
    let (_, x, _, w, h) = images[0];
    assert!((w - geometry.content_width()).abs() < 0.01);
    assert!((w / h - 2.0).abs() < 0.01);
    assert!(x >= geometry.left);
    let (_, _, y, w, h) = images[1];
    assert!((h - 300.0).abs() < 0.01 && (w / h - 0.5).abs() < 0.01);
    assert!(y >= geometry.bottom);
    // Caption below the image.
    let caption = texts(&pages[0])
        .into_iter()
        .find(|(_, t)| t == "tall")
        .map(|(y, _)| y)
        .unwrap_or(f32::MAX);
    assert!(caption < y);
}

#[test]
fn columns_share_rows_and_wrap_values() {
    let geometry = Geometry::A4;
    let mut flow = Flow::new(&Fixed, geometry);
    let left = vec![
        ("Patient".to_string(), "Ivanov, Ivan".to_string()),
        ("ID".to_string(), "P-1".to_string()),
    ];
    let right = vec![("Study".to_string(), "CT ".repeat(40))];
    let top = flow.y();
    flow.columns(&[left, right], BODY, BODY, Rgb(0.95, 0.95, 0.95));
    let pages = flow.into_pages();
    let lines = texts(&pages[0]);
    let y_of = |s: &str| lines.iter().find(|(_, t)| t == s).map(|(y, _)| *y);
    assert_eq!(y_of("Patient"), y_of("Study"));
    assert!(lines.iter().filter(|(_, t)| t.starts_with("CT")).count() > 1);
    for (y, _) in &lines {
        assert!(*y < top);
    }
}
