//! Placing text, boxes and images on A4 pages: line wrapping and page
//! breaking, independent of how a page is finally written.
//!
//! Coordinates are PDF points with the origin at the bottom left of the page.

/// How wide a run of text is. The PDF's fonts implement it; tests use a
/// fixed-pitch stand-in.
pub(crate) trait Measure {
    fn width(&self, text: &str, bold: bool, size: f32) -> f32;
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rgb(pub f32, pub f32, pub f32);

pub(crate) const INK: Rgb = Rgb(0.1, 0.1, 0.12);
pub(crate) const MUTED: Rgb = Rgb(0.38, 0.38, 0.42);
pub(crate) const ACCENT: Rgb = Rgb(0.1, 0.25, 0.5);
pub(crate) const ALERT: Rgb = Rgb(0.72, 0.08, 0.08);

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    pub size: f32,
    pub bold: bool,
    pub color: Rgb,
}

impl Style {
    pub const fn new(size: f32, bold: bool, color: Rgb) -> Style {
        Style { size, bold, color }
    }

    /// Distance between baselines.
    pub fn leading(&self) -> f32 {
        self.size * 1.35
    }

    /// From the top of a line box down to its baseline; the face's
    /// ascender is 0.93 em, and the rest of the leading goes below.
    fn baseline_drop(&self) -> f32 {
        self.size * 1.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    Text {
        x: f32,
        y: f32,
        style: Style,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Rgb,
        stroke: Option<Rgb>,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        color: Rgb,
    },
    Image {
        index: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// The page and the part of it the flowing content may use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub width: f32,
    pub height: f32,
    pub left: f32,
    pub right: f32,
    /// Where content starts on the first page, and on the others (below
    /// the running header).
    pub first_top: f32,
    pub top: f32,
    /// Content never goes below this.
    pub bottom: f32,
}

impl Geometry {
    pub const A4: Geometry = Geometry {
        width: 595.28,
        height: 841.89,
        left: 56.0,
        right: 595.28 - 56.0,
        first_top: 841.89 - 48.0,
        top: 841.89 - 78.0,
        bottom: 64.0,
    };

    pub fn content_width(&self) -> f32 {
        self.right - self.left
    }
}

/// Breaks `text` into lines no wider than `max`: at spaces where it can,
/// inside a word only when the word alone is too wide. Line breaks in the
/// text are kept, blank lines included; runs of spaces and tabs collapse.
pub(crate) fn wrap(text: &str, max: f32, width: impl Fn(&str) -> f32) -> Vec<String> {
    // Widths are summed piece by piece: allow for rounding, so that a text
    // measured as exactly `max` wide fits in `max`.
    let max = max + 0.01;
    let space = width(" ");
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut line_width = 0.0;
        for word in paragraph.split_whitespace() {
            let word_width = width(word);
            if !line.is_empty() && line_width + space + word_width <= max {
                line.push(' ');
                line.push_str(word);
                line_width += space + word_width;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if word_width <= max {
                line.push_str(word);
                line_width = word_width;
                continue;
            }
            // A word wider than the line: cut it where it overflows.
            line_width = 0.0;
            for c in word.chars() {
                let mut buf = [0; 4];
                let w = width(c.encode_utf8(&mut buf));
                if !line.is_empty() && line_width + w > max {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0.0;
                }
                line.push(c);
                line_width += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// Content flowing down pages: each call places something below the last,
/// starting a new page when it would cross the bottom margin.
pub(crate) struct Flow<'m, M: Measure> {
    pub measure: &'m M,
    pub geometry: Geometry,
    pages: Vec<Vec<Op>>,
    /// Top of the next thing placed.
    y: f32,
}

impl<'m, M: Measure> Flow<'m, M> {
    pub fn new(measure: &'m M, geometry: Geometry) -> Self {
        Flow {
            measure,
            geometry,
            pages: vec![Vec::new()],
            y: geometry.first_top,
        }
    }

    #[cfg(test)]
    pub fn y(&self) -> f32 {
        self.y
    }

    #[cfg(test)]
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    pub fn into_pages(self) -> Vec<Vec<Op>> {
        self.pages
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.geometry.top;
    }

    fn room(&self) -> f32 {
        self.y - self.geometry.bottom
    }

    /// Starts a new page unless `height` fits on this one (or this page is
    /// still empty, where waiting would not help).
    pub fn ensure(&mut self, height: f32) {
        let fresh = self.y >= self.geometry.top;
        if height > self.room() && !fresh {
            self.new_page();
        }
    }

    /// Vertical space; dropped at the top of a page.
    pub fn space(&mut self, height: f32) {
        if self.y < self.geometry.top {
            self.y = (self.y - height).max(self.geometry.bottom);
        }
    }

    pub fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    pub fn wrap(&self, text: &str, style: Style, max: f32) -> Vec<String> {
        wrap(text, max, |s| self.measure.width(s, style.bold, style.size))
    }

    /// One line of text at `x`, its box starting at the current position.
    fn line(&mut self, x: f32, text: String, style: Style) {
        let y = self.y - style.baseline_drop();
        if !text.is_empty() {
            self.push(Op::Text { x, y, style, text });
        }
        self.y -= style.leading();
    }

    /// Wrapped text over the full width from `indent`, broken across pages
    /// between lines. Each line of `text` is a paragraph of its own, with
    /// `gap` points below it.
    pub fn paragraph(&mut self, text: &str, style: Style, indent: f32, gap: f32) {
        let max = self.geometry.content_width() - indent;
        let x = self.geometry.left + indent;
        let mut first = true;
        for source in text.split('\n') {
            if !first {
                self.space(gap);
            }
            first = false;
            for line in self.wrap(source, style, max) {
                self.ensure(style.leading());
                self.line(x, line, style);
            }
        }
    }

    /// Height of `text` set by [`paragraph`](Self::paragraph), page breaks aside.
    pub fn paragraph_height(&self, text: &str, style: Style, indent: f32, gap: f32) -> f32 {
        let max = self.geometry.content_width() - indent;
        let lines = self.wrap(text, style, max).len() as f32;
        let breaks = text.matches('\n').count() as f32;
        lines * style.leading() + breaks * gap
    }

    /// A title kept on the same page as at least `keep` of what follows.
    pub fn heading(&mut self, text: &str, style: Style, keep: f32) {
        let lines = self.wrap(text, style, self.geometry.content_width());
        let height = style.leading() * lines.len() as f32;
        self.ensure(height + keep);
        for line in lines {
            self.line(self.geometry.left, line, style);
        }
    }

    /// Lines of text in a filled, outlined box across the full width. A box
    /// taller than what is left of the page continues on the next, each
    /// part drawn as a box of its own.
    pub fn boxed(&mut self, lines: &[(String, Style)], fill: Rgb, stroke: Rgb) {
        const PAD: f32 = 8.0;
        let max = self.geometry.content_width() - 2.0 * PAD;
        let wrapped: Vec<(String, Style)> = lines
            .iter()
            .flat_map(|(text, style)| {
                self.wrap(text, *style, max)
                    .into_iter()
                    .map(move |l| (l, *style))
            })
            .collect();
        let mut rest = wrapped.as_slice();
        while !rest.is_empty() {
            let first = rest[0].1.leading();
            self.ensure(first + 2.0 * PAD);
            let mut used = 2.0 * PAD;
            let mut take = 0;
            for (_, style) in rest {
                if take > 0 && used + style.leading() > self.room() {
                    break;
                }
                used += style.leading();
                take += 1;
            }
            let top = self.y;
            self.push(Op::Rect {
                x: self.geometry.left,
                y: top - used,
                w: self.geometry.content_width(),
                h: used,
                fill,
                stroke: Some(stroke),
            });
            self.y -= PAD;
            for (text, style) in &rest[..take] {
                self.line(self.geometry.left + PAD, text.clone(), *style);
            }
            self.y = top - used;
            rest = &rest[take..];
            if !rest.is_empty() {
                self.new_page();
            }
        }
    }

    /// An image scaled to fit the width and `max_height`, keeping its
    /// aspect ratio, with its caption below; the two stay on one page.
    pub fn image(&mut self, index: usize, pixels: (u32, u32), caption: &str, max_height: f32) {
        let style = Style::new(9.0, false, MUTED);
        let (pw, ph) = (pixels.0.max(1) as f32, pixels.1.max(1) as f32);
        // Fit the width and the height, leaving room for a short caption.
        let page_height = self.geometry.top - self.geometry.bottom;
        let fit_height = max_height.min(page_height - 4.0 * style.leading());
        let scale = (self.geometry.content_width() / pw).min(fit_height / ph);
        let (w, h) = (pw * scale, ph * scale);
        let caption_lines = self.wrap(caption, style, w.max(120.0));
        let caption_height = style.leading() * caption_lines.len() as f32;
        self.ensure(h + 6.0 + caption_height);
        let x = self.geometry.left + (self.geometry.content_width() - w) / 2.0;
        self.push(Op::Image {
            index,
            x,
            y: self.y - h,
            w,
            h,
        });
        self.y -= h + 6.0;
        for line in caption_lines {
            self.line(x, line, style);
        }
    }

    /// A thin horizontal rule across the content width.
    pub fn rule(&mut self, color: Rgb) {
        self.ensure(4.0);
        let y = self.y - 2.0;
        self.push(Op::Line {
            x1: self.geometry.left,
            y1: y,
            x2: self.geometry.right,
            y2: y,
            color,
        });
        self.y -= 4.0;
    }

    /// Labelled values in columns side by side, e.g. patient and study:
    /// each column is `(label, value)` rows, labels in `label` style in a
    /// column as wide as the widest, values wrapped beside them. The block
    /// sits on a `fill` background and is not split across pages.
    pub fn columns(
        &mut self,
        columns: &[Vec<(String, String)>],
        label: Style,
        value: Style,
        fill: Rgb,
    ) {
        const PAD: f32 = 8.0;
        const GAP: f32 = 16.0;
        let n = columns.len().max(1) as f32;
        let col_width = (self.geometry.content_width() - 2.0 * PAD - GAP * (n - 1.0)) / n;
        let row_leading = label.leading().max(value.leading());
        let mut placed = Vec::new();
        let mut height: f32 = 0.0;
        for (i, rows) in columns.iter().enumerate() {
            let x = self.geometry.left + PAD + i as f32 * (col_width + GAP);
            let label_width = rows
                .iter()
                .map(|(l, _)| self.measure.width(l, label.bold, label.size))
                .fold(0.0_f32, f32::max)
                .min(col_width * 0.45);
            let value_x = x + label_width + 8.0;
            let value_max = (x + col_width - value_x).max(10.0);
            let mut dy = 0.0;
            for (l, v) in rows {
                let label_lines = self.wrap(l, label, label_width);
                let value_lines = self.wrap(v, value, value_max);
                for (k, line) in label_lines.iter().enumerate() {
                    placed.push((x, dy + k as f32 * row_leading, line.clone(), label));
                }
                for (k, line) in value_lines.iter().enumerate() {
                    placed.push((value_x, dy + k as f32 * row_leading, line.clone(), value));
                }
                dy += row_leading * label_lines.len().max(value_lines.len()) as f32;
            }
            height = height.max(dy);
        }
        let total = height + 2.0 * PAD;
        self.ensure(total);
        let top = self.y;
        self.push(Op::Rect {
            x: self.geometry.left,
            y: top - total,
            w: self.geometry.content_width(),
            h: total,
            fill,
            stroke: None,
        });
        for (x, dy, text, style) in placed {
            // Labels and values share a baseline: drop by the larger size.
            let y = top - PAD - dy - value.baseline_drop().max(label.baseline_drop());
            if !text.is_empty() {
                self.push(Op::Text { x, y, style, text });
            }
        }
        self.y = top - total;
    }
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
