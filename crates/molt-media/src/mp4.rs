//! Structural pre-flight for MP4/M4A, run before symphonia parses the file.
//!
//! symphonia-format-isomp4 0.5.5 sizes allocations from untrusted numbers: sample tables
//! call `Vec::with_capacity(entry_count)` and sample reads allocate the size stated in
//! `stsz`. A 4 KB file declaring 2^32 `stts` entries makes it request 32 GiB, and a failed
//! allocation aborts the whole process (it is not a catchable panic). Checking that every
//! box fits inside its parent, every table fits inside its box and no sample is larger
//! than the file bounds all of those allocations by the file size.

use std::io::{self, Read, Seek};

use crate::read::{fourcc, read_array};
use crate::{AudioError, AudioFormat};

/// Deeper nesting than any real file uses; bounds recursion on hostile input.
const MAX_DEPTH: usize = 16;

/// More structural boxes than a long fragmented file has; bounds the work per upload.
const MAX_BOXES: usize = 200_000;

/// Boxes whose payload is nothing but child boxes.
const CONTAINERS: [&[u8; 4]; 12] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"moof", b"traf", b"udta", b"dinf",
    b"ilst",
];

/// Checks the box tree of the `len`-byte file whose first box starts at `base`.
pub(crate) fn preflight<R: Read + Seek>(src: &mut R, base: u64, len: u64) -> Result<(), AudioError> {
    let mut walker = Walker { src, file_len: len, budget: MAX_BOXES };
    walker.walk(base, len, 0, false).map_err(|e| match e {
        Fault::Io(e) => AudioError::Io(e),
        Fault::Bad(detail) => AudioError::undecodable(AudioFormat::M4a, detail),
    })
}

/// A failed check: either the file could not be read or its structure is invalid.
enum Fault {
    Io(io::Error),
    Bad(String),
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// One box's type and extent.
struct BoxHeader {
    kind: [u8; 4],
    body: u64,
    end: u64,
}

impl BoxHeader {
    fn name(&self) -> String {
        fourcc(self.kind)
    }
}

struct Walker<'a, R> {
    src: &'a mut R,
    file_len: u64,
    budget: usize,
}

impl<R: Read + Seek> Walker<'_, R> {
    /// Checks the boxes in `start..end`; `in_ilst` marks metadata items (containers too).
    fn walk(&mut self, start: u64, end: u64, depth: usize, in_ilst: bool) -> Result<(), Fault> {
        if depth > MAX_DEPTH {
            return Err(Fault::Bad("boxes are nested too deeply".to_owned()));
        }
        let mut pos = start;
        while end - pos >= 8 {
            let header = self.header(pos, end)?;
            self.check(&header, depth, in_ilst)?;
            pos = header.end;
        }
        Ok(())
    }

    /// Validates one box and, for containers, its children.
    fn check(&mut self, header: &BoxHeader, depth: usize, in_ilst: bool) -> Result<(), Fault> {
        self.budget = self.budget.checked_sub(1).ok_or_else(|| Fault::Bad("too many boxes".to_owned()))?;
        let (body, end) = (header.body, header.end);
        match &header.kind {
            k if in_ilst || CONTAINERS.contains(&k) => self.walk(body, end, depth + 1, k == b"ilst"),
            b"meta" => {
                let children = body + self.meta_prefix(body, end)?;
                self.walk(children, end, depth + 1, false)
            }
            b"stts" => self.check_table(header, 8),
            b"stsc" => self.check_table(header, 12),
            b"stco" => self.check_table(header, 4),
            b"co64" => self.check_table(header, 8),
            b"stsz" => self.check_stsz(header),
            _ => Ok(()),
        }
    }

    /// Reads the header of the box at `pos`, which must end by `parent_end`.
    fn header(&mut self, pos: u64, parent_end: u64) -> Result<BoxHeader, Fault> {
        let [s0, s1, s2, s3, k0, k1, k2, k3] = self.array::<8>(pos, "box header")?;
        let kind = [k0, k1, k2, k3];
        let (header_len, size) = match u32::from_be_bytes([s0, s1, s2, s3]) {
            0 => (8, parent_end - pos), // extends to the end of its container
            1 => (16, u64::from_be_bytes(self.array::<8>(pos + 8, "box header")?)),
            n => (8, u64::from(n)),
        };
        let name = fourcc(kind);
        if size < header_len {
            return Err(Fault::Bad(format!("the '{name}' box has an invalid size")));
        }
        match pos.checked_add(size).filter(|&end| end <= parent_end) {
            Some(end) => Ok(BoxHeader { kind, body: pos + header_len, end }),
            None => Err(Fault::Bad(format!(
                "the '{name}' box runs past its container (the file may be truncated)"
            ))),
        }
    }

    /// ISO `meta` is a full box (4 bytes of version and flags before its children);
    /// QuickTime's is not. Zero version and flags identify the ISO form.
    fn meta_prefix(&mut self, body: u64, end: u64) -> Result<u64, Fault> {
        if end - body < 4 {
            return Ok(0);
        }
        let prefix = self.array::<4>(body, "'meta' box")?;
        Ok(if prefix == [0; 4] { 4 } else { 0 })
    }

    /// A full box holding `entry_count` fixed-size entries must be big enough for them.
    fn check_table(&mut self, header: &BoxHeader, entry_len: u64) -> Result<(), Fault> {
        let count = self.u32_at(header, 4)?;
        self.check_entries_fit(header, 8, count, entry_len)
    }

    /// `stsz` gives one constant sample size or a table of sizes; none may exceed the file.
    fn check_stsz(&mut self, header: &BoxHeader) -> Result<(), Fault> {
        let (sample_size, count) = (self.u32_at(header, 4)?, self.u32_at(header, 8)?);
        let file_len = self.file_len;
        let too_big = |size: u32| u64::from(size) > file_len;
        if sample_size != 0 {
            return if too_big(sample_size) { Err(oversized_sample()) } else { Ok(()) };
        }
        self.check_entries_fit(header, 12, count, 4)?;
        self.src.seek(io::SeekFrom::Start(header.body + 12))?;
        let mut table = io::BufReader::new(&mut *self.src).take(u64::from(count) * 4);
        let mut entry = [0u8; 4];
        for _ in 0..count {
            table.read_exact(&mut entry)?;
            if too_big(u32::from_be_bytes(entry)) {
                return Err(oversized_sample());
            }
        }
        Ok(())
    }

    fn check_entries_fit(
        &mut self,
        header: &BoxHeader,
        fixed: u64,
        count: u32,
        entry_len: u64,
    ) -> Result<(), Fault> {
        let needed = fixed + u64::from(count) * entry_len;
        if header.body + needed > header.end {
            let name = header.name();
            return Err(Fault::Bad(format!("the '{name}' table declares more entries than it holds")));
        }
        Ok(())
    }

    /// The big-endian u32 at `offset` into the box's body.
    fn u32_at(&mut self, header: &BoxHeader, offset: u64) -> Result<u32, Fault> {
        if header.body + offset + 4 > header.end {
            return Err(Fault::Bad(format!("the '{}' box is too short", header.name())));
        }
        Ok(u32::from_be_bytes(self.array::<4>(header.body + offset, "sample table")?))
    }

    /// Reads `N` bytes at `pos`, reporting a cut-off file as truncated `what`.
    fn array<const N: usize>(&mut self, pos: u64, what: &str) -> Result<[u8; N], Fault> {
        read_array::<N, _>(self.src, pos)?
            .ok_or_else(|| Fault::Bad(format!("the file ends inside a {what} (it may be truncated)")))
    }
}

fn oversized_sample() -> Fault {
    Fault::Bad("a sample is declared larger than the whole file".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    fn table(count: u32, entries: &[u8]) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0];
        body.extend_from_slice(&count.to_be_bytes());
        body.extend_from_slice(entries);
        body
    }

    fn file_with_stbl(stbl_children: &[Vec<u8>]) -> Vec<u8> {
        let stbl = mp4_box(b"stbl", &stbl_children.concat());
        let minf = mp4_box(b"minf", &stbl);
        let mdia = mp4_box(b"mdia", &minf);
        let trak = mp4_box(b"trak", &mdia);
        let moov = mp4_box(b"moov", &trak);
        [mp4_box(b"ftyp", b"M4A \0\0\0\0"), moov, mp4_box(b"mdat", &[0; 16])].concat()
    }

    fn run(file: &[u8]) -> Result<(), AudioError> {
        preflight(&mut Cursor::new(file), 0, file.len() as u64)
    }

    fn detail(file: &[u8]) -> String {
        match run(file).unwrap_err() {
            AudioError::Undecodable { format: AudioFormat::M4a, detail } => detail,
            other => panic!("expected Undecodable M4A, got {other:?}"),
        }
    }

    #[test]
    fn consistent_tables_pass() {
        let stts = mp4_box(b"stts", &table(1, &[0, 0, 0, 4, 0, 0, 4, 0]));
        // version/flags, sample size 0 (= per-sample table), 2 entries of 8 bytes.
        let stsz =
            mp4_box(b"stsz", &[[0; 8], [0, 0, 0, 2, 0, 0, 0, 8], [0, 0, 0, 8, 0, 0, 0, 0]].concat()[..20]);
        run(&file_with_stbl(&[stts, stsz])).unwrap();
    }

    #[test]
    fn huge_entry_count_is_refused() {
        let stts = mp4_box(b"stts", &table(u32::MAX, &[0; 8]));
        assert!(detail(&file_with_stbl(&[stts])).contains("'stts' table declares more entries"));
    }

    #[test]
    fn sample_larger_than_file_is_refused() {
        let mut body = vec![0; 4];
        body.extend_from_slice(&u32::MAX.to_be_bytes()); // constant sample size
        body.extend_from_slice(&1u32.to_be_bytes());
        let stsz = mp4_box(b"stsz", &body);
        assert!(detail(&file_with_stbl(&[stsz])).contains("larger than the whole file"));
    }

    #[test]
    fn child_larger_than_parent_is_refused() {
        let mut hdlr = mp4_box(b"hdlr", &[0; 24]);
        hdlr[..4].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
        assert!(detail(&file_with_stbl(&[hdlr])).contains("'hdlr' box runs past its container"));
    }

    #[test]
    fn bad_ilst_item_inside_iso_meta_is_refused() {
        let mut data = mp4_box(b"data", &[0; 8]);
        data[..4].copy_from_slice(&4u32.to_be_bytes()); // smaller than its own header
        let item = mp4_box(b"\xa9nam", &data);
        let ilst = mp4_box(b"ilst", &item);
        let meta = mp4_box(b"meta", &[&[0u8; 4][..], &ilst].concat());
        let moov = mp4_box(b"moov", &mp4_box(b"udta", &meta));
        let file = [mp4_box(b"ftyp", b"M4A \0\0\0\0"), moov].concat();
        assert!(detail(&file).contains("'data' box has an invalid size"));
    }
}
