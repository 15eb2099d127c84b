//! Reading the service-account files and environment variables straight through
//! `wasi:filesystem` and `wasi:cli/environment` (std's wrappers cost the component kilobytes).

use crate::prelude::*;

use wasi::filesystem::preopens;
use wasi::filesystem::types::{DescriptorFlags, ErrorCode, OpenFlags, PathFlags};

/// The largest file read: a token, CA bundle or namespace is far smaller.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// An environment variable, if set (even if empty).
pub fn env(name: &str) -> Option<String> {
    wasi::cli::environment::get_environment()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A file's bytes, or why not. The path must lie under a preopened directory (the longest
/// match wins); symlinks inside it are followed, as in a pod's service-account mount.
pub fn read(path: &str) -> Result<Vec<u8>, String> {
    let dirs = preopens::get_directories();
    let best = dirs
        .iter()
        .filter_map(|(dir, root)| {
            let root = root.trim_end_matches('/');
            let rel = path.strip_prefix(root)?.strip_prefix('/')?;
            Some((root.len(), dir, rel))
        })
        .max_by_key(|(len, _, _)| *len);
    let Some((_, dir, rel)) = best else {
        return Err("no such file (no preopened directory holds it)".into());
    };
    let file = dir
        .open_at(
            PathFlags::SYMLINK_FOLLOW,
            rel,
            OpenFlags::empty(),
            DescriptorFlags::READ,
        )
        .map_err(reason)?;
    let mut bytes = Vec::new();
    loop {
        let (chunk, end) = file.read(64 * 1024, bytes.len() as u64).map_err(reason)?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
        }
        if end || chunk.is_empty() {
            return Ok(bytes);
        }
    }
}

fn reason(code: ErrorCode) -> String {
    match code {
        ErrorCode::NoEntry => "no such file".into(),
        ErrorCode::Access | ErrorCode::NotPermitted => "permission denied".into(),
        ErrorCode::IsDirectory => "is a directory".into(),
        ErrorCode::Loop => "too many symlinks".into(),
        other => format!("filesystem error {}", other as u8),
    }
}
