//! CSV for people's spreadsheets (Excel or LibreOffice set to Swedish): written with the
//! `csv` crate, cells separated by semicolons (the decimal comma makes commas ambiguous),
//! a byte-order mark first so the spreadsheet reads UTF-8, and no cell that a spreadsheet
//! would run as a formula.

use std::borrow::Cow;

/// A sheet being written: a header row, then rows of cells.
pub struct Sheet {
    writer: csv::Writer<Vec<u8>>,
}

impl Sheet {
    pub fn new(header: &[&str]) -> Self {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .from_writer("\u{feff}".as_bytes().to_vec());
        writer
            .write_record(header)
            .expect("writing to memory cannot fail");
        Self { writer }
    }

    /// One row; every cell is guarded against being read as a formula.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| guarded(cell.as_ref()).into_owned())
            .collect();
        self.writer
            .write_record(&cells)
            .expect("writing to memory cannot fail");
    }

    pub fn finish(self) -> Vec<u8> {
        self.writer
            .into_inner()
            .expect("flushing to memory cannot fail")
    }
}

/// A cell that a spreadsheet shows as text: one starting with `=`, `+`, `-` or `@` gets a
/// leading apostrophe, so it is never run as a formula.
pub fn guarded(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_when_needed_and_never_formulas() {
        let mut sheet = Sheet::new(&["rubrik", "text"]);
        sheet.row(["Språkcafé", "a;b"]);
        sheet.row(["säger \"hej\"", "=SUMMA(A1)"]);
        let text = String::from_utf8(sheet.finish()).unwrap();
        assert_eq!(
            text,
            "\u{feff}rubrik;text\r\nSpråkcafé;\"a;b\"\r\n\"säger \"\"hej\"\"\";'=SUMMA(A1)\r\n"
        );
    }
}
