//! The CSV writer of every results table: the bytes the `csv` crate's default writer produces
//! (`csv::Writer::from_writer`, which stays the reference and the readers' crate), at a fraction
//! of its cost. A day's run writes about 200 000 cells; through `csv` and `csv_core` (a
//! resumable state machine per field and delimiter, built for any output buffer size) that was
//! about a tenth of the whole process. Here a row goes straight into one growing buffer.
//!
//! The format is the `csv` crate's default, `QuoteStyle::Necessary`:
//! - a field is quoted only when it contains `,`, `"`, `\n` or `\r`; a quote inside is doubled.
//!   Nothing else is quoted: not an empty field, not leading or trailing spaces, not non-ASCII;
//! - a record of one empty field is written `""` (so it is not an empty line);
//! - records end with `\n`; every record must have the first one's number of fields;
//! - a struct row writes its field names as the header before the first row (fields skipped by
//!   `skip_serializing_if` are left out of both, as there); an empty table writes nothing;
//! - values as `csv`'s serializer writes them: `true`/`false`, integers in decimal, `f64` and
//!   `f32` by Ryū, `None` and `()` as an empty field, a unit variant as its name.
//!
//! The test `csv_writer_matches_the_csv_crate` compares the two on tricky fields.

use serde::ser::{self, Serialize};
use std::io::Write;

/// Flush to the underlying writer once the buffer holds this much.
const FLUSH_AT: usize = 1 << 16;

/// Why a row could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The underlying writer failed.
    #[error("{0}")]
    Io(std::io::Error),
    /// A record's number of fields differs from the first record's.
    #[error("found record with {found} fields, but the previous record has {expected} fields")]
    UnequalLengths {
        /// Fields of the first record.
        expected: usize,
        /// Fields of this one.
        found: usize,
    },
    /// A value this writer has no CSV form for (a nested struct, a sequence, a map).
    #[error("cannot write {0} as a CSV field")]
    Unsupported(&'static str),
    /// A `Serialize` implementation reported an error.
    #[error("{0}")]
    Custom(String),
}

impl ser::Error for CsvError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        CsvError::Custom(msg.to_string())
    }
}

impl From<CsvError> for std::io::Error {
    fn from(e: CsvError) -> std::io::Error {
        match e {
            CsvError::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

/// A CSV writer over `W` (see the module docs).
pub struct CsvWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Fields written in the current record.
    fields: usize,
    /// Where the current record starts in `buf`.
    record_start: usize,
    /// Fields of the first record (`None` before it ends).
    expected: Option<usize>,
    /// Whether `serialize` still has to write the header.
    header_pending: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer that writes a header before its first serialized struct.
    pub fn new(out: W) -> CsvWriter<W> {
        CsvWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            fields: 0,
            record_start: 0,
            expected: None,
            header_pending: true,
        }
    }

    /// Appends a field to the current record, quoting it when it needs to be.
    pub fn field(&mut self, s: &[u8]) {
        self.delimit();
        if s.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            self.buf.push(b'"');
            for &b in s {
                if b == b'"' {
                    self.buf.push(b'"');
                }
                self.buf.push(b);
            }
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(s);
        }
    }

    /// Appends a number's text (digits, `-`, `.`, `NaN`, `inf`: never quoted, so not scanned).
    pub fn number_field(&mut self, text: &str) {
        debug_assert!(!text
            .bytes()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')));
        self.delimit();
        self.buf.extend_from_slice(text.as_bytes());
    }

    /// Appends an integer field (never quoted).
    pub fn int_field(&mut self, v: i64) {
        self.delimit();
        if v < 0 {
            self.buf.push(b'-');
        }
        let mut tmp = [0u8; 20];
        let n = crate::util::write_u64(&mut tmp, v.unsigned_abs());
        self.buf.extend_from_slice(&tmp[..n]);
    }

    fn delimit(&mut self) {
        if self.fields > 0 {
            self.buf.push(b',');
        }
        self.fields += 1;
    }

    /// Ends the current record.
    pub fn end_record(&mut self) -> Result<(), CsvError> {
        match self.expected {
            Some(n) if n != self.fields => {
                return Err(CsvError::UnequalLengths {
                    expected: n,
                    found: self.fields,
                })
            }
            Some(_) => {}
            None => self.expected = Some(self.fields),
        }
        if self.buf.len() == self.record_start {
            // No bytes at all (one empty field, or none): `""` keeps it a record.
            self.buf.extend_from_slice(b"\"\"");
        }
        self.buf.push(b'\n');
        self.fields = 0;
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf).map_err(CsvError::Io)?;
            self.buf.clear();
        }
        self.record_start = self.buf.len();
        Ok(())
    }

    /// Writes a whole record of text fields.
    pub fn write_record<I, F>(&mut self, fields: I) -> Result<(), CsvError>
    where
        I: IntoIterator<Item = F>,
        F: AsRef<[u8]>,
    {
        for f in fields {
            self.field(f.as_ref());
        }
        self.end_record()
    }

    /// Writes one row; before the first struct row, its field names as the header.
    pub fn serialize<T: Serialize + ?Sized>(&mut self, row: &T) -> Result<(), CsvError> {
        if self.header_pending {
            self.header_pending = false;
            let mut names = Vec::new();
            let start = self.buf.len();
            row.serialize(&mut Row {
                w: self,
                names: Some(&mut names),
                depth: 0,
                number: false,
            })?;
            let fields = self.fields;
            if !names.is_empty() {
                let row_bytes = self.buf.split_off(start);
                self.fields = 0;
                self.write_record(names.iter().map(|n| n.as_bytes()))?;
                self.buf.extend_from_slice(&row_bytes);
                self.fields = fields;
            }
        } else {
            row.serialize(&mut Row {
                w: self,
                names: None,
                depth: 0,
                number: false,
            })?;
        }
        self.end_record()
    }

    /// Flushes the buffer and hands back the underlying writer.
    pub fn into_inner(mut self) -> Result<W, CsvError> {
        self.out.write_all(&self.buf).map_err(CsvError::Io)?;
        self.buf.clear();
        Ok(self.out)
    }
}

/// The serde serializer of one row.
struct Row<'a, 'n, W: Write> {
    w: &'a mut CsvWriter<W>,
    /// The header's names, collected on the first row.
    names: Option<&'n mut Vec<&'static str>>,
    /// Nesting: 0 at the row, 1 inside its struct.
    depth: u8,
    /// Inside a [`crate::output::rows::Num`]: its text is digits, `-`, `.` (or `NaN`, `inf`)
    /// and never needs quoting.
    number: bool,
}

impl<W: Write> Row<'_, '_, W> {
    fn text(&mut self, s: &str) -> Result<(), CsvError> {
        if self.number {
            self.w.number_field(s);
        } else {
            self.w.field(s.as_bytes());
        }
        Ok(())
    }
}

macro_rules! ints {
    ($($f:ident($t:ty)),*) => {
        $(fn $f(self, v: $t) -> Result<(), CsvError> {
            self.w.int_field(i64::from(v));
            Ok(())
        })*
    };
}

impl<W: Write> ser::Serializer for &mut Row<'_, '_, W> {
    type Ok = ();
    type Error = CsvError;
    type SerializeSeq = ser::Impossible<(), CsvError>;
    type SerializeTuple = ser::Impossible<(), CsvError>;
    type SerializeTupleStruct = ser::Impossible<(), CsvError>;
    type SerializeTupleVariant = ser::Impossible<(), CsvError>;
    type SerializeMap = ser::Impossible<(), CsvError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), CsvError>;

    fn serialize_bool(self, v: bool) -> Result<(), CsvError> {
        self.text(if v { "true" } else { "false" })
    }
    ints!(
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32)
    );
    fn serialize_u64(self, v: u64) -> Result<(), CsvError> {
        self.w.delimit();
        let mut tmp = [0u8; 20];
        let n = crate::util::write_u64(&mut tmp, v);
        self.w.buf.extend_from_slice(&tmp[..n]);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), CsvError> {
        self.text(ryu::Buffer::new().format(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), CsvError> {
        self.text(ryu::Buffer::new().format(v))
    }
    fn serialize_char(self, v: char) -> Result<(), CsvError> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), CsvError> {
        self.text(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CsvError> {
        self.w.field(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), CsvError> {
        self.text("")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), CsvError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CsvError> {
        self.text("")
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), CsvError> {
        self.text(name)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), CsvError> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<(), CsvError> {
        if name == crate::output::rows::NUM_NAME {
            self.number = true;
            let r = v.serialize(&mut *self);
            self.number = false;
            r
        } else {
            v.serialize(self)
        }
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), CsvError> {
        Err(CsvError::Unsupported("an enum variant with data"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CsvError> {
        Err(CsvError::Unsupported("a sequence"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CsvError> {
        Err(CsvError::Unsupported("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CsvError> {
        Err(CsvError::Unsupported("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CsvError> {
        Err(CsvError::Unsupported("an enum variant with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CsvError> {
        Err(CsvError::Unsupported("a map"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, CsvError> {
        if self.depth > 0 {
            return Err(CsvError::Unsupported("a struct inside a row"));
        }
        self.depth = 1;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CsvError> {
        Err(CsvError::Unsupported("an enum variant with data"))
    }
}

impl<W: Write> ser::SerializeStruct for &mut Row<'_, '_, W> {
    type Ok = ();
    type Error = CsvError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CsvError> {
        if let Some(names) = self.names.as_deref_mut() {
            names.push(key);
        }
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<(), CsvError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    /// The `csv` crate's bytes for the same rows.
    fn reference<T: Serialize>(rows: &[T]) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for r in rows {
            w.serialize(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn ours<T: Serialize>(rows: &[T]) -> Vec<u8> {
        let mut w = CsvWriter::new(Vec::new());
        for r in rows {
            w.serialize(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[derive(Serialize)]
    struct Tricky {
        text: String,
        n: i64,
        u: usize,
        x: f64,
        flag: bool,
        opt: Option<f64>,
        num: crate::output::rows::Num,
        #[serde(rename = "odd, \"name\"")]
        last: &'static str,
    }

    const FIELDS: &[&str] = &[
        "",
        " ",
        "  lead",
        "trail  ",
        "a,b",
        "say \"hi\"",
        "\"",
        "\"\"",
        "line\nbreak",
        "cr\rhere",
        "crlf\r\n",
        "tab\there",
        "semi; colon",
        "#comment",
        "ünïcödé, ✓",
        "日本語",
        "back\\slash",
        "'single'",
        "plain",
        "eight by",
        "more than eight bytes, with a comma at the end,",
    ];

    #[test]
    fn csv_writer_matches_the_csv_crate() {
        let rows: Vec<Tricky> = FIELDS
            .iter()
            .enumerate()
            .map(|(i, s)| Tricky {
                text: s.to_string(),
                n: -(i as i64) * 1_000_000_007,
                u: i * 31,
                x: [0.1, -0.0, 1e22, f64::NAN, f64::INFINITY, 3.0][i % 6],
                flag: i % 2 == 0,
                opt: (i % 3 == 0).then_some(2.5),
                num: crate::output::rows::Num([0.25, -1e-7, 12345.678, -0.0][i % 4]),
                last: FIELDS[FIELDS.len() - 1 - i],
            })
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&ours(&rows)),
            String::from_utf8_lossy(&reference(&rows))
        );
        // Integer extremes.
        #[derive(Serialize)]
        struct Ints {
            a: i64,
            b: u64,
            c: i8,
            d: u32,
        }
        let ints = [
            Ints {
                a: i64::MIN,
                b: u64::MAX,
                c: i8::MIN,
                d: 0,
            },
            Ints {
                a: i64::MAX,
                b: 0,
                c: -1,
                d: u32::MAX,
            },
        ];
        assert_eq!(ours(&ints), reference(&ints));
        // One-field records: an empty one is written `""`.
        #[derive(Serialize)]
        struct One {
            only: String,
        }
        let one: Vec<One> = FIELDS
            .iter()
            .map(|s| One {
                only: s.to_string(),
            })
            .collect();
        assert_eq!(ours(&one), reference(&one));
        // Skipped fields leave the header and the row alike.
        #[derive(Serialize)]
        struct Skip {
            a: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            b: Option<u32>,
        }
        let skip = [Skip { a: 1, b: None }, Skip { a: 2, b: None }];
        assert_eq!(ours(&skip), reference(&skip));
        // No rows: nothing at all.
        assert_eq!(ours::<One>(&[]), reference::<One>(&[]));
    }

    #[test]
    fn plain_records_match_the_csv_crate() {
        let mut a = csv::Writer::from_writer(Vec::new());
        let mut b = CsvWriter::new(Vec::new());
        for chunk in FIELDS.chunks(3) {
            a.write_record(chunk).unwrap();
            b.write_record(chunk).unwrap();
        }
        assert_eq!(a.into_inner().unwrap(), b.into_inner().unwrap());
        let mut a = csv::Writer::from_writer(Vec::new());
        let mut b = CsvWriter::new(Vec::new());
        for _ in 0..2 {
            a.write_record([""]).unwrap();
            b.write_record([""]).unwrap();
        }
        assert_eq!(a.into_inner().unwrap(), b.into_inner().unwrap());
    }

    #[test]
    fn unequal_records_are_an_error_not_a_panic() {
        let mut w = CsvWriter::new(Vec::new());
        w.write_record(["a", "b"]).unwrap();
        let e = w.write_record(["c"]).unwrap_err();
        assert!(matches!(
            e,
            CsvError::UnequalLengths {
                expected: 2,
                found: 1
            }
        ));
        #[derive(Serialize)]
        struct Nested {
            inner: Vec<u32>,
        }
        assert!(CsvWriter::new(Vec::new())
            .serialize(&Nested { inner: vec![1] })
            .is_err());
    }
}
