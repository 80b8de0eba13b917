//! The report as a PDF, made by Insats itself with `krilla`: A4 pages with a running
//! header (the period) and page numbers, the DejaVu Sans fonts embedded (subset, covering
//! Swedish), the headings as bookmarks, the indicators' charts as vector paths, and a tag
//! tree (headings, paragraphs, tables with header cells, figures with alternative text)
//! for screen readers. Nothing in it depends on the time it is made: the same report gives
//! the same bytes.
//!
//! Why `krilla`: it writes tagged PDF with embedded, subset OpenType fonts and outlines
//! from safe Rust, needs no browser or external program, and is maintained by the authors
//! of the `pdf-writer` and `subsetter` crates that Typst uses. It lays out no text, so
//! this module breaks lines and tables into pages itself (with the fonts' own advance
//! widths, read with `skrifa`).

use krilla::color::rgb;
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::tagging::{
    Artifact, ArtifactType, ContentTag, Identifier, Node, SpanTag, TableHeaderScope, Tag, TagGroup,
    TagKind, TagTree,
};
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};
use std::collections::HashMap;
use std::num::NonZeroU16;

use super::{CaseCounts, ItemLine, Report};
use crate::app::Units;
use crate::clock;
use crate::domain::follow_up::ReportPeriod;
use crate::event_log::Cursor;
use crate::queries::indicators::{IndicatorView, Trend, figure, unit_name};

static REGULAR: &[u8] = include_bytes!("../../static/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../static/fonts/DejaVuSans-Bold.ttf");

const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const LEFT: f32 = 56.0;
const RIGHT: f32 = PAGE_WIDTH - 56.0;
const TOP: f32 = 78.0;
const BOTTOM: f32 = PAGE_HEIGHT - 64.0;
const WIDTH: f32 = RIGHT - LEFT;
const BODY: f32 = 10.0;
const LEADING: f32 = 1.35;
const CELL_PAD: f32 = 3.0;
const CHART_HEIGHT: f32 = 150.0;

/// A part of the report, before it is laid out on pages.
#[derive(Debug, Clone)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    /// A paragraph in bold (a label before a list).
    Strong(String),
    Bullets(Vec<String>),
    Table {
        /// Each column's share of the width.
        columns: Vec<f32>,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Chart(Chart),
    PageBreak,
}

/// A line chart: one line per series over the years.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Which of the report's indicators it draws.
    pub indicator: usize,
    pub alt: String,
    pub years: Vec<i32>,
    pub series: Vec<(String, Vec<Option<f64>>)>,
}

/// One of the two faces, with the advance widths to break lines by.
struct Face {
    font: Font,
    advances: HashMap<char, f32>,
    fallback: f32,
}

impl Face {
    fn load(data: &'static [u8]) -> Self {
        let font = Font::new(data.into(), 0).expect("the bundled font reads");
        let face = skrifa::FontRef::new(data).expect("the bundled font parses");
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::new(1.0), LocationRef::default());
        let mut advances = HashMap::new();
        for (code, glyph) in charmap.mappings() {
            if let (Some(ch), Some(advance)) = (char::from_u32(code), metrics.advance_width(glyph))
                && code < 0x3000
            {
                advances.insert(ch, advance);
            }
        }
        Self {
            font,
            advances,
            fallback: 0.6,
        }
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|ch| self.advances.get(&ch).copied().unwrap_or(self.fallback))
            .sum::<f32>()
            * size
    }
}

struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    fn get(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }
}

/// Breaks `text` into lines no wider than `width`; words longer than a line are cut.
fn wrap(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        // Only spaces break lines: a no-break space (in "29 231") holds.
        for word in paragraph.split([' ', '\t']).filter(|word| !word.is_empty()) {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if face.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut piece = String::new();
            for ch in word.chars() {
                piece.push(ch);
                if face.width(&piece, size) > width {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(ch);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

/// What one piece of drawn content belongs to in the tag tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    Block(usize),
    Bullet(usize, usize),
    /// A table's cell: block, row (0 is the header), column.
    Cell(usize, usize, usize),
}

enum Draw {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
        owner: Owner,
    },
    /// A table's header background.
    Shade {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
    },
    Chart {
        y: f32,
        block: usize,
    },
}

struct Layout<'f> {
    faces: &'f Faces,
    pages: Vec<Vec<Draw>>,
    y: f32,
    /// Headings for the bookmarks: level, text, page, y.
    marks: Vec<(u8, String, usize, f32)>,
}

impl<'f> Layout<'f> {
    fn new(faces: &'f Faces) -> Self {
        Self {
            faces,
            pages: vec![Vec::new()],
            y: TOP,
            marks: Vec::new(),
        }
    }

    fn page(&mut self) -> &mut Vec<Draw> {
        self.pages.last_mut().expect("a page")
    }

    fn new_page(&mut self) {
        if !self.page().is_empty() {
            self.pages.push(Vec::new());
        }
        self.y = TOP;
    }

    /// Makes room for `height`, starting a page when the rest of this one is too short.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    fn lines(&mut self, text: &str, size: f32, bold: bool, indent: f32, owner: Owner) {
        self.hanging(text, size, bold, indent, indent, owner);
    }

    /// Lines whose first line starts at `first` and the rest at `rest` from the margin.
    fn hanging(&mut self, text: &str, size: f32, bold: bool, first: f32, rest: f32, owner: Owner) {
        let line_height = size * LEADING;
        for (n, line) in wrap(self.faces.get(bold), text, size, WIDTH - rest)
            .into_iter()
            .enumerate()
        {
            self.room(line_height);
            self.y += line_height;
            let y = self.y - line_height * 0.25;
            self.page().push(Draw::Text {
                x: LEFT + if n == 0 { first } else { rest },
                y,
                size,
                bold,
                text: line,
                owner,
            });
        }
    }

    fn block(&mut self, index: usize, block: &Block) {
        match block {
            Block::Heading(level, text) => {
                let size = match level {
                    1 => 18.0,
                    2 => 15.0,
                    _ => 12.0,
                };
                let lines = wrap(self.faces.get(true), text, size, WIDTH).len() as f32;
                // A heading keeps at least a few lines of what follows on its page.
                self.room(size * LEADING * lines + size * 0.8 + BODY * LEADING * 3.0);
                self.y += if self.y > TOP { size * 0.8 } else { 0.0 };
                let page = self.pages.len() - 1;
                self.marks.push((*level, text.clone(), page, self.y));
                self.lines(text, size, true, 0.0, Owner::Block(index));
                self.y += size * 0.3;
            }
            Block::Para(text) => {
                self.lines(text, BODY, false, 0.0, Owner::Block(index));
                self.y += BODY * 0.6;
            }
            Block::Strong(text) => {
                self.lines(text, BODY, true, 0.0, Owner::Block(index));
                self.y += BODY * 0.2;
            }
            Block::Bullets(items) => {
                for (n, item) in items.iter().enumerate() {
                    self.hanging(
                        &format!("• {item}"),
                        BODY,
                        false,
                        6.0,
                        14.0,
                        Owner::Bullet(index, n),
                    );
                }
                self.y += BODY * 0.6;
            }
            Block::Table {
                columns,
                header,
                rows,
            } => self.table(index, columns, header, rows),
            Block::Chart(_) => {
                self.room(CHART_HEIGHT + 40.0);
                let y = self.y;
                self.page().push(Draw::Chart { y, block: index });
                self.y += CHART_HEIGHT + 40.0;
            }
            Block::PageBreak => self.new_page(),
        }
    }

    fn row_height(&self, widths: &[f32], cells: &[String], bold: bool) -> (f32, Vec<Vec<String>>) {
        let size = BODY - 1.0;
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| wrap(self.faces.get(bold), cell, size, width - 2.0 * CELL_PAD))
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1) as f32;
        (lines * size * LEADING + 2.0 * CELL_PAD, wrapped)
    }

    fn row(&mut self, index: usize, row: usize, widths: &[f32], cells: &[String], bold: bool) {
        let size = BODY - 1.0;
        let (height, wrapped) = self.row_height(widths, cells, bold);
        let top = self.y;
        if bold {
            self.page().push(Draw::Shade {
                x: LEFT,
                y: top,
                w: WIDTH,
                h: height,
            });
        }
        let mut x = LEFT;
        for (column, (lines, width)) in wrapped.into_iter().zip(widths).enumerate() {
            let mut y = top + CELL_PAD;
            for line in lines {
                y += size * LEADING;
                self.page().push(Draw::Text {
                    x: x + CELL_PAD,
                    y: y - size * LEADING * 0.25,
                    size,
                    bold,
                    text: line,
                    owner: Owner::Cell(index, row, column),
                });
            }
            x += width;
        }
        self.y = top + height;
        let y = self.y;
        self.page().push(Draw::Rule {
            x1: LEFT,
            x2: RIGHT,
            y,
        });
    }

    fn table(&mut self, index: usize, columns: &[f32], header: &[String], rows: &[Vec<String>]) {
        let total: f32 = columns.iter().sum();
        let widths: Vec<f32> = columns.iter().map(|c| c / total * WIDTH).collect();
        let (header_height, _) = self.row_height(&widths, header, true);
        let first = rows
            .first()
            .map_or(0.0, |row| self.row_height(&widths, row, false).0);
        self.room(header_height + first);
        self.row(index, 0, &widths, header, true);
        for (n, row) in rows.iter().enumerate() {
            let (height, _) = self.row_height(&widths, row, false);
            if self.y + height > BOTTOM {
                self.new_page();
                // The header again on the new page, as a visual aid only.
                self.repeat_header(&widths, header, header_height);
            }
            self.row(index, n + 1, &widths, row, false);
        }
        self.y += BODY * 0.8;
    }

    fn repeat_header(&mut self, widths: &[f32], header: &[String], height: f32) {
        let size = BODY - 1.0;
        let top = self.y;
        self.page().push(Draw::Shade {
            x: LEFT,
            y: top,
            w: WIDTH,
            h: height,
        });
        let mut x = LEFT;
        for (cell, width) in header.iter().zip(widths) {
            let first = wrap(self.faces.get(true), cell, size, width - 2.0 * CELL_PAD);
            let mut y = top + CELL_PAD;
            for line in first {
                y += size * LEADING;
                self.page().push(Draw::Text {
                    x: x + CELL_PAD,
                    y: y - size * LEADING * 0.25,
                    size,
                    bold: true,
                    text: line,
                    // Drawn as an artifact: the tag tree has the header once.
                    owner: Owner::Cell(usize::MAX, 0, 0),
                });
            }
            x += width;
        }
        self.y = top + height;
    }
}

fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn stroke(r: u8, g: u8, b: u8, width: f32, dash: Option<Vec<f32>>) -> Stroke {
    Stroke {
        paint: rgb::Color::new(r, g, b).into(),
        width,
        dash: dash.map(|array| StrokeDash { array, offset: 0.0 }),
        ..Default::default()
    }
}

fn line(surface: &mut Surface<'_>, points: &[(f32, f32)], stroke: Stroke) {
    let mut path = PathBuilder::new();
    for (n, (x, y)) in points.iter().enumerate() {
        if n == 0 {
            path.move_to(*x, *y);
        } else {
            path.line_to(*x, *y);
        }
    }
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(stroke));
        surface.draw_path(&path);
        surface.set_stroke(None);
        surface.set_fill(Some(fill(0, 0, 0)));
    }
}

fn text(surface: &mut Surface<'_>, faces: &Faces, x: f32, y: f32, size: f32, bold: bool, s: &str) {
    surface.draw_text(
        Point::from_xy(x, y),
        faces.get(bold).font.clone(),
        size,
        s,
        false,
        TextDirection::Auto,
    );
}

/// The colours and dashes of a chart's lines: told apart without colour too.
/// A line's colour and its dash (none for a solid line).
type Look = ((u8, u8, u8), Option<[f32; 2]>);

const SERIES: [Look; 4] = [
    ((0, 94, 162), None),
    ((196, 73, 0), Some([5.0, 3.0])),
    ((60, 120, 40), Some([1.5, 2.5])),
    ((90, 90, 90), Some([8.0, 3.0])),
];

fn draw_chart(surface: &mut Surface<'_>, faces: &Faces, chart: &Chart, top: f32) {
    let (left, right) = (LEFT + 40.0, RIGHT - 10.0);
    let (plot_top, plot_bottom) = (top + 8.0, top + CHART_HEIGHT - 18.0);
    let values: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|(_, values)| values.iter().flatten().copied())
        .collect();
    let (mut low, mut high) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if values.is_empty() {
        (low, high) = (0.0, 1.0);
    }
    if (high - low).abs() < 1e-9 {
        high = low + 1.0;
    }
    let pad = (high - low) * 0.1;
    let (low, high) = (
        (low - pad).max(if low >= 0.0 { 0.0 } else { f64::MIN }),
        high + pad,
    );
    let x_of = |i: usize| {
        if chart.years.len() <= 1 {
            (left + right) / 2.0
        } else {
            left + (right - left) * i as f32 / (chart.years.len() - 1) as f32
        }
    };
    let y_of = |v: f64| plot_bottom - ((v - low) / (high - low)) as f32 * (plot_bottom - plot_top);
    // Grid and scale.
    for step in 0..=4 {
        let value = low + (high - low) * f64::from(step) / 4.0;
        let y = y_of(value);
        line(
            surface,
            &[(left, y), (right, y)],
            stroke(215, 215, 215, 0.5, None),
        );
        let label = figure(value);
        let width = faces.regular.width(&label, 7.0);
        text(
            surface,
            faces,
            left - 4.0 - width,
            y + 2.5,
            7.0,
            false,
            &label,
        );
    }
    for (i, year) in chart.years.iter().enumerate() {
        let label = year.to_string();
        let width = faces.regular.width(&label, 7.0);
        text(
            surface,
            faces,
            x_of(i) - width / 2.0,
            plot_bottom + 11.0,
            7.0,
            false,
            &label,
        );
    }
    // The lines, with a mark at each figure.
    for (n, (_, values)) in chart.series.iter().enumerate() {
        let ((r, g, b), dash) = SERIES[n % SERIES.len()];
        let points: Vec<(f32, f32)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (x_of(i), y_of(v))))
            .collect();
        line(
            surface,
            &points,
            stroke(r, g, b, 1.6, dash.map(|d| d.to_vec())),
        );
        for (x, y) in &points {
            if let Some(rect) = Rect::from_xywh(x - 1.8, y - 1.8, 3.6, 3.6) {
                let mut path = PathBuilder::new();
                path.push_rect(rect);
                if let Some(path) = path.finish() {
                    surface.set_fill(Some(fill(r, g, b)));
                    surface.draw_path(&path);
                }
            }
        }
        surface.set_fill(Some(fill(0, 0, 0)));
    }
    // The legend.
    let mut x = left;
    let y = top + CHART_HEIGHT + 8.0;
    for (n, (label, _)) in chart.series.iter().enumerate() {
        let ((r, g, b), dash) = SERIES[n % SERIES.len()];
        line(
            surface,
            &[(x, y - 3.0), (x + 18.0, y - 3.0)],
            stroke(r, g, b, 1.6, dash.map(|d| d.to_vec())),
        );
        text(surface, faces, x + 22.0, y, 8.0, false, label);
        x += 30.0 + faces.regular.width(label, 8.0);
    }
}

/// The PDF of `report`.
pub fn render(report: &Report) -> Vec<u8> {
    let faces = Faces {
        regular: Face::load(REGULAR),
        bold: Face::load(BOLD),
    };
    let blocks = blocks(report);
    let mut layout = Layout::new(&faces);
    for (index, block) in blocks.iter().enumerate() {
        layout.block(index, block);
    }
    let Layout { pages, marks, .. } = layout;

    let mut document = Document::new_with(SerializeSettings::default());
    let mut ids: HashMap<Owner, Vec<Identifier>> = HashMap::new();
    let mut figures: HashMap<usize, Identifier> = HashMap::new();
    let title = report.title();
    let count = pages.len();
    for (number, draws) in pages.into_iter().enumerate() {
        let mut page = document.start_page_with(
            PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 is a valid size"),
        );
        let mut surface = page.surface();
        surface.set_fill(Some(fill(0, 0, 0)));
        // The running header and the page number: artifacts, not content.
        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
            ArtifactType::Header,
        )));
        text(&mut surface, &faces, LEFT, 40.0, 8.0, false, &title);
        let right = "Växjö kommun";
        text(
            &mut surface,
            &faces,
            RIGHT - faces.regular.width(right, 8.0),
            40.0,
            8.0,
            false,
            right,
        );
        line(
            &mut surface,
            &[(LEFT, 47.0), (RIGHT, 47.0)],
            stroke(160, 160, 160, 0.5, None),
        );
        surface.end_tagged();
        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
            ArtifactType::PageNumber,
        )));
        let folio = format!("Sida {} av {}", number + 1, count);
        text(
            &mut surface,
            &faces,
            RIGHT - faces.regular.width(&folio, 8.0),
            PAGE_HEIGHT - 36.0,
            8.0,
            false,
            &folio,
        );
        surface.end_tagged();

        for draw in draws {
            match draw {
                Draw::Text {
                    x,
                    y,
                    size,
                    bold,
                    text: s,
                    owner,
                } => {
                    if matches!(owner, Owner::Cell(usize::MAX, _, _)) {
                        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
                            ArtifactType::Header,
                        )));
                        text(&mut surface, &faces, x, y, size, bold, &s);
                        surface.end_tagged();
                        continue;
                    }
                    let id = surface.start_tagged(ContentTag::Span(SpanTag::empty()));
                    text(&mut surface, &faces, x, y, size, bold, &s);
                    surface.end_tagged();
                    ids.entry(owner).or_default().push(id);
                }
                Draw::Shade { x, y, w, h } => {
                    if let Some(rect) = Rect::from_xywh(x, y, w, h) {
                        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
                            ArtifactType::Other,
                        )));
                        let mut path = PathBuilder::new();
                        path.push_rect(rect);
                        if let Some(path) = path.finish() {
                            surface.set_fill(Some(fill(234, 238, 242)));
                            surface.draw_path(&path);
                            surface.set_fill(Some(fill(0, 0, 0)));
                        }
                        surface.end_tagged();
                    }
                }
                Draw::Rule { x1, x2, y } => {
                    surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(
                        ArtifactType::Other,
                    )));
                    line(
                        &mut surface,
                        &[(x1, y), (x2, y)],
                        stroke(200, 200, 200, 0.4, None),
                    );
                    surface.end_tagged();
                }
                Draw::Chart { y, block } => {
                    if let Block::Chart(chart) = &blocks[block] {
                        let id = surface.start_tagged(ContentTag::Other);
                        draw_chart(&mut surface, &faces, chart, y);
                        surface.end_tagged();
                        figures.insert(block, id);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }

    document.set_tag_tree(tag_tree(&blocks, &mut ids, &mut figures));
    document.set_outline(outline(&marks));
    let mut metadata = Metadata::new()
        .title(title)
        .language("sv-SE".into())
        .creator("Insats".into())
        .producer("Insats".into())
        .authors(vec!["Växjö kommun".into()])
        .description(format!(
            "Uppföljningsrapport för {}. {}",
            report.period().label().to_lowercase(),
            report.provenance()
        ))
        .keywords(vec![
            "Insats".into(),
            "uppföljningsrapport".into(),
            provenance_mark(report),
        ])
        .document_id(format!(
            "insats-{}-{}-{}",
            report.period().key(),
            report.as_of.transaction_id,
            report.as_of.position
        ));
    if let Some(at) = report.as_of_time {
        let at = at.to_offset(time::UtcOffset::UTC);
        metadata = metadata.creation_date(
            DateTime::new(at.year() as u16)
                .month(u8::from(at.month()))
                .day(at.day())
                .hour(at.hour())
                .minute(at.minute())
                .second(at.second())
                .utc_offset_hour(0)
                .utc_offset_minute(0),
        );
    }
    document.set_metadata(metadata);
    document.finish().expect("the report's PDF is well formed")
}

/// The mark that says which period and which place in the log a PDF was compiled from:
/// `insats-logg:<period>:<transaction>:<position>`, in the PDF's keywords.
fn provenance_mark(report: &Report) -> String {
    format!(
        "{MARK}{}:{}:{}",
        report.period().key(),
        report.as_of.transaction_id,
        report.as_of.position
    )
}

const MARK: &str = "insats-logg:";

/// The period and the place in the log a PDF made by Insats was compiled from, read from
/// its keywords.
pub fn provenance(pdf: &[u8]) -> Option<(ReportPeriod, Cursor)> {
    let mark = MARK.as_bytes();
    let start = pdf.windows(mark.len()).position(|window| window == mark)? + mark.len();
    let rest: String = pdf[start..]
        .iter()
        .take(80)
        .map(|b| *b as char)
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
        .collect();
    let mut parts = rest.split(':');
    let period = ReportPeriod::from_key(parts.next()?)?;
    let transaction_id = parts.next()?.parse().ok()?;
    let position = parts.next()?.parse().ok()?;
    Some((period, Cursor::new(transaction_id, position)))
}

fn tag_tree(
    blocks: &[Block],
    ids: &mut HashMap<Owner, Vec<Identifier>>,
    figures: &mut HashMap<usize, Identifier>,
) -> TagTree {
    let mut tree = TagTree::new().with_lang(Some("sv-SE".into()));
    let mut take = |owner: Owner| -> Vec<Identifier> { ids.remove(&owner).unwrap_or_default() };
    for (index, block) in blocks.iter().enumerate() {
        let group = |kind: TagKind, children: Vec<Identifier>| -> Option<Node> {
            if children.is_empty() {
                return None;
            }
            let mut group = TagGroup::new(kind);
            for child in children {
                group.push(child);
            }
            Some(group.into())
        };
        let node: Option<Node> = match block {
            Block::Heading(level, text) => group(
                Tag::Hn(
                    NonZeroU16::new(u16::from(*level)).expect("levels start at 1"),
                    Some(text.clone()),
                )
                .into(),
                take(Owner::Block(index)),
            ),
            Block::Para(_) | Block::Strong(_) => group(Tag::P.into(), take(Owner::Block(index))),
            Block::Bullets(items) => {
                let mut list = TagGroup::new(Tag::L(krilla::tagging::ListNumbering::Disc));
                for n in 0..items.len() {
                    let mut body = TagGroup::new(Tag::LBody);
                    for id in take(Owner::Bullet(index, n)) {
                        body.push(id);
                    }
                    let mut item = TagGroup::new(Tag::LI);
                    item.push(body);
                    list.push(item);
                }
                Some(list.into())
            }
            Block::Table { header, rows, .. } => {
                let mut table = TagGroup::new(Tag::Table);
                for row in 0..=rows.len() {
                    let mut tr = TagGroup::new(Tag::TR);
                    for column in 0..header.len() {
                        let kind: TagKind = if row == 0 {
                            Tag::TH(TableHeaderScope::Column).into()
                        } else {
                            Tag::TD.into()
                        };
                        let mut cell = TagGroup::new(kind);
                        for id in take(Owner::Cell(index, row, column)) {
                            cell.push(id);
                        }
                        tr.push(cell);
                    }
                    table.push(tr);
                }
                Some(table.into())
            }
            Block::Chart(chart) => figures.remove(&index).map(|id| {
                let mut figure = TagGroup::new(Tag::Figure(Some(chart.alt.clone())));
                figure.push(id);
                figure.into()
            }),
            Block::PageBreak => None,
        };
        if let Some(node) = node {
            tree.push(node);
        }
    }
    tree
}

fn outline(marks: &[(u8, String, usize, f32)]) -> Outline {
    let mut outline = Outline::new();
    let mut current: Option<OutlineNode> = None;
    let node = |text: &str, page: usize, y: f32| {
        OutlineNode::new(
            text.to_owned(),
            XyzDestination::new(page, Point::from_xy(LEFT, (y - 20.0).max(0.0))),
        )
    };
    for (level, text, page, y) in marks {
        match level {
            2 => {
                if let Some(done) = current.take() {
                    outline.push_child(done);
                }
                current = Some(node(text, *page, *y));
            }
            3 => match current.as_mut() {
                Some(parent) => parent.push_child(node(text, *page, *y)),
                None => outline.push_child(node(text, *page, *y)),
            },
            _ => {}
        }
    }
    if let Some(done) = current {
        outline.push_child(done);
    }
    outline
}

fn cases_text(cases: &CaseCounts) -> String {
    format!(
        "{} öppnade, {} avslutade, {} eskalerade",
        cases.opened, cases.closed, cases.escalated
    )
}

fn item_rows(items: &[ItemLine]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|item| {
            vec![
                item.title.clone(),
                format!("{} → {}", item.from, item.to),
                clock::date(item.raised_on),
                match item.answered_on {
                    Some(day) => format!("{} ({} dagar)", clock::date(day), item.days),
                    None => format!("Väntar ({} dagar)", item.days),
                },
            ]
        })
        .collect()
}

fn item_table(items: &[ItemLine]) -> Block {
    Block::Table {
        columns: vec![3.0, 3.2, 1.6, 2.2],
        header: vec![
            "Skrivelse".into(),
            "Från → till".into(),
            "Skickad".into(),
            "Besvarad".into(),
        ],
        rows: item_rows(items),
    }
}

/// An indicator's chart: the municipality and its comparison units over the years.
pub fn indicator_chart(indicator: usize, view: &IndicatorView, units: &Units) -> Option<Chart> {
    let mut codes: Vec<String> = Vec::new();
    for figure in view.figures.iter().filter(|f| f.gender == "T") {
        if !codes.contains(&figure.unit) {
            codes.push(figure.unit.clone());
        }
    }
    let mut years: Vec<i32> = view
        .figures
        .iter()
        .filter(|f| f.gender == "T")
        .map(|f| f.year)
        .collect();
    years.sort_unstable();
    years.dedup();
    if years.is_empty() {
        return None;
    }
    let series: Vec<(String, Vec<Option<f64>>)> = codes
        .iter()
        .take(SERIES.len())
        .map(|unit| {
            let by_year = view.series(unit, "T");
            (
                unit_name(unit, units),
                years
                    .iter()
                    .map(|year| by_year.get(year).copied())
                    .collect(),
            )
        })
        .collect();
    let latest = view
        .latest
        .map(|l| format!(" Senaste värdet: {} ({}).", figure(l.value), l.year))
        .unwrap_or_default();
    Some(Chart {
        indicator,
        alt: format!(
            "Linjediagram: {} {}–{}.{} Trend: {}.",
            view.definition.text,
            years[0],
            years[years.len() - 1],
            latest,
            view.trend.label()
        ),
        years,
        series,
    })
}

/// A count as Swedes write it: "29 231", with a space that does not break.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(ch);
    }
    out
}

/// The report as blocks, in reading order.
pub fn blocks(report: &Report) -> Vec<Block> {
    let summary = &report.summary;
    let period = report.period();
    let mut out = vec![
        Block::Heading(1, report.title()),
        Block::Para(format!(
            "{} för {}, {}–{}. Rapporten följer upp strategierna i {}: vad processägarna rapporterat, vad områdena gjort, ärenden och skrivelser mellan forumen, rådets granskningar och nyckeltalen.",
            "Uppföljning",
            period.label().to_lowercase(),
            clock::date(period.start()),
            clock::date(period.end()),
            report.plan_title
        )),
        Block::Para(report.provenance()),
        Block::Heading(2, "Sammanfattning".into()),
        Block::Para(format!(
            "Av planens {} strategier rapporterades {} enligt plan, {} med risk och {} med avvikelse. {}",
            report
                .processes
                .iter()
                .map(|p| p.strategies.len())
                .sum::<usize>(),
            summary.on_plan,
            summary.at_risk,
            summary.deviating,
            match summary.unreported.len() {
                0 => "Alla har en statusrapport för perioden.".to_owned(),
                1 => "En saknar statusrapport för perioden.".to_owned(),
                n => format!("{n} saknar statusrapport för perioden."),
            }
        )),
        Block::Para(format!(
            "Områdena genomförde {} insatser med sammanlagt {} deltagare. {} ärenden öppnades, {} avslutades och {} eskalerades. {} skrivelser skickades mellan forumen och {} besvarades{}.",
            count(summary.activities.into()),
            count(summary.participants),
            summary.cases.opened,
            summary.cases.closed,
            summary.cases.escalated,
            summary.items_raised,
            summary.items_answered,
            summary
                .median_response_days
                .map(|days| format!(", i mitten av fördelningen efter {days} dagar"))
                .unwrap_or_default()
        )),
    ];
    if !summary.changes.is_empty() {
        out.push(Block::Strong("Ändrad status sedan förra perioden".into()));
        out.push(Block::Bullets(
            summary
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{}: från {} till {}",
                        c.strategy.trim_end_matches('.'),
                        c.from.label().to_lowercase(),
                        c.to.label().to_lowercase()
                    )
                })
                .collect(),
        ));
    }
    if !summary.silent.is_empty() {
        out.push(Block::Strong(format!(
            "Strategier utan insatser, ärenden eller statusrapport under perioden ({})",
            summary.silent.len()
        )));
        out.push(Block::Bullets(summary.silent.clone()));
    }
    if !summary.waiting.is_empty() {
        out.push(Block::Strong(format!(
            "Skrivelser som väntat längst på svar ({} väntar)",
            summary.waiting_count
        )));
        out.push(item_table(&summary.waiting));
    }
    let moved = report.indicators_moved();
    if !moved.is_empty() {
        out.push(Block::Strong("Nyckeltal som förändrats".into()));
        out.push(Block::Bullets(
            moved
                .iter()
                .map(|view| {
                    let latest = view
                        .latest
                        .map(|l| format!("{} ({})", figure(l.value), l.year))
                        .unwrap_or_default();
                    format!(
                        "{}: {} – {}",
                        view.definition.text,
                        latest,
                        view.trend.label()
                    )
                })
                .collect(),
        ));
    }
    out.push(Block::Para(if summary.reviews_missing.is_empty() {
        "Integrationsrådet har granskat alla områdens tidslinjer för perioden.".into()
    } else {
        format!(
            "Integrationsrådet har granskat {} av {} områdens tidslinjer för perioden. Granskning saknas för {}.",
            summary.reviews_done,
            report.areas.len(),
            summary.reviews_missing.join(", ")
        )
    }));

    for process in &report.processes {
        out.push(Block::PageBreak);
        out.push(Block::Heading(2, format!("Process: {}", process.title)));
        out.push(Block::Para(match &process.owner {
            Some(owner) => format!("Processägare: {owner}."),
            None => "Processen har ingen processägare.".into(),
        }));
        for strategy in &process.strategies {
            out.push(Block::Heading(3, strategy.title.clone()));
            out.extend(strategy_blocks(strategy));
        }
    }

    out.push(Block::PageBreak);
    out.push(Block::Heading(2, "Områdena".into()));
    out.push(Block::Table {
        columns: vec![1.6, 1.2, 1.2, 1.3, 2.6, 2.4],
        header: vec![
            "Område".into(),
            "Insatser".into(),
            "Deltagare".into(),
            "Strategier".into(),
            "Ärenden".into(),
            "Rådets granskning".into(),
        ],
        rows: report
            .areas
            .iter()
            .map(|area| {
                vec![
                    area.name.clone(),
                    area.activities.to_string(),
                    area.participants.to_string(),
                    area.strategies.to_string(),
                    cases_text(&area.cases),
                    match &area.review {
                        Some((on, by)) => format!("{} av {}", clock::date(*on), by),
                        None => "Saknas".into(),
                    },
                ]
            })
            .collect(),
    });
    for area in &report.areas {
        out.push(Block::Heading(3, area.name.clone()));
        out.push(Block::Para(format!(
            "{} insatser med {} deltagare inom {} strategier. Ärenden: {}. {} skrivelser till eller från området.",
            area.activities,
            area.participants,
            area.strategies,
            cases_text(&area.cases),
            area.items
        )));
        if !area.titles.is_empty() {
            out.push(Block::Para(format!(
                "Vanligaste insatserna: {}.",
                area.titles.join(", ")
            )));
        }
    }

    out.push(Block::PageBreak);
    out.push(Block::Heading(2, "Skrivelser mellan forumen".into()));
    if report.items.is_empty() {
        out.push(Block::Para(
            "Inga skrivelser skickades eller besvarades under perioden.".into(),
        ));
    } else {
        out.push(Block::Para(
            "Skrivelser som skickades eller besvarades under perioden, med svarstid.".into(),
        ));
        out.push(item_table(&report.items));
    }
    if !report.general_decisions.is_empty() {
        out.push(Block::Heading(3, "Beslut om processerna".into()));
        out.push(Block::Bullets(
            report
                .general_decisions
                .iter()
                .map(|(process, d)| format!("{} – {}: {}", clock::date(d.on), process, d.title))
                .collect(),
        ));
    }

    out.push(Block::PageBreak);
    out.push(Block::Heading(2, "Nyckeltal".into()));
    out.push(Block::Para("Planens nyckeltal med senaste värden. Pilen i texten säger om det senaste året blev bättre eller sämre än året innan.".into()));
    out.push(Block::Table {
        columns: vec![4.0, 1.8, 1.6, 1.4, 1.8],
        header: vec![
            "Nyckeltal".into(),
            "Senaste värdet".into(),
            "Trend".into(),
            "Målvärde".into(),
            "Källa".into(),
        ],
        rows: report
            .indicators
            .iter()
            .map(|view| {
                vec![
                    view.definition.text.clone(),
                    view.latest
                        .map(|l| format!("{} ({})", figure(l.value), l.year))
                        .unwrap_or_else(|| "Inga värden än".into()),
                    view.trend.label().to_owned(),
                    match (view.definition.target_value, view.definition.target_year) {
                        (Some(value), Some(year)) => format!("{} år {}", figure(value), year),
                        (Some(value), None) => figure(value),
                        _ => "Inget".into(),
                    },
                    view.definition.source_label().to_owned(),
                ]
            })
            .collect(),
    });
    for (n, view) in report.indicators.iter().enumerate() {
        if let Some(chart) = indicator_chart(n, view, &report.units)
            && view.trend != Trend::Unknown
        {
            out.push(Block::Heading(3, view.definition.text.clone()));
            out.push(Block::Chart(chart));
        }
    }
    out
}

fn strategy_blocks(strategy: &super::StrategyPart) -> Vec<Block> {
    let mut out = Vec::new();
    out.push(Block::Para(match &strategy.status {
        Some(status) => format!(
            "Status: {}{}. Rapporterad {} av {}.",
            status.status.label(),
            match strategy.previous {
                Some(before) if before != status.status =>
                    format!(" (förra perioden: {})", before.label().to_lowercase()),
                _ => String::new(),
            },
            clock::date(status.on),
            status.by
        ),
        None => format!(
            "Status: ingen statusrapport för perioden{}.",
            strategy
                .previous
                .map(|before| format!(" (förra perioden: {})", before.label().to_lowercase()))
                .unwrap_or_default()
        ),
    }));
    if let Some(status) = &strategy.status
        && !status.comment.trim().is_empty()
    {
        out.push(Block::Para(format!(
            "Processägarens kommentar: {}",
            status.comment.trim()
        )));
    }
    if strategy.activities.is_empty() {
        out.push(Block::Para("Inga insatser under perioden.".into()));
    } else {
        let total: u32 = strategy.activities.iter().map(|(_, n, _)| n).sum();
        out.push(Block::Para(format!(
            "{} insatser: {}. Till exempel: {}.",
            total,
            strategy
                .activities
                .iter()
                .map(|(area, n, people)| format!("{area} {n} ({people} deltagare)"))
                .collect::<Vec<_>>()
                .join(", "),
            strategy.titles.join(", ")
        )));
    }
    out.push(Block::Para(format!(
        "Ärenden: {}.",
        cases_text(&strategy.cases)
    )));
    if !strategy.decisions.is_empty() {
        out.push(Block::Para(format!(
            "Beslut: {}.",
            strategy
                .decisions
                .iter()
                .map(|d| format!("{} ({})", d.title, clock::date(d.on)))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    if !strategy.items.is_empty() {
        out.push(item_table(&strategy.items));
    }
    out
}
