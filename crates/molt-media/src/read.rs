//! Small positioned-read helpers for the header pre-flight checks.

use std::io::{self, Read, Seek, SeekFrom};

/// Reads `N` bytes at `pos`; `None` if the file ends first (a truncation, not an I/O fault).
pub(crate) fn read_array<const N: usize, R: Read + Seek>(
    src: &mut R,
    pos: u64,
) -> io::Result<Option<[u8; N]>> {
    src.seek(SeekFrom::Start(pos))?;
    let mut buf = [0u8; N];
    match src.read_exact(&mut buf) {
        Ok(()) => Ok(Some(buf)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// Renders a four-character code for messages, masking anything unprintable.
pub(crate) fn fourcc(code: [u8; 4]) -> String {
    code.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '?' }).collect()
}
