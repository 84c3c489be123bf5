//! Free space in a directory's file system (`statvfs`).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// Bytes an unprivileged process may still write.
    pub free_bytes: u64,
    pub total_bytes: u64,
}

/// The file system holding `path`; `None` when it cannot be read (a missing
/// directory), which the monitor reports as unknown rather than full.
pub fn space(path: &Path) -> Option<DiskSpace> {
    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` points to
    // writable memory of the right type; statvfs only writes into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled the structure.
    let stat = unsafe { stat.assume_init() };
    // The field types differ between platforms (u64 on 64-bit Linux), hence the casts.
    #[allow(clippy::useless_conversion)]
    let (block, free, total) =
        (u64::from(stat.f_frsize).max(1), u64::from(stat.f_bavail), u64::from(stat.f_blocks));
    Some(DiskSpace { free_bytes: free.saturating_mul(block), total_bytes: total.saturating_mul(block) })
}

/// Bytes in GiB, for messages.
pub fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_temp_dirs_file_system_has_a_size() {
        let space = super::space(&std::env::temp_dir()).expect("statvfs");
        assert!(space.total_bytes > 0 && space.free_bytes <= space.total_bytes, "{space:?}");
        assert!(super::space(std::path::Path::new("/no/such/dir")).is_none());
    }
}
