//! Reading the service-account files and environment variables straight through
//! `wasi:filesystem` and `wasi:cli/environment` (std's wrappers cost the component kilobytes),
//! in as few host calls as a fresh instance can: the environment is fetched once for every
//! variable, a directory is found among the preopens once and its files opened through it, and
//! a small file is read in one call.

use crate::prelude::*;

use wasi::filesystem::preopens;
use wasi::filesystem::types::{Descriptor, DescriptorFlags, ErrorCode, OpenFlags, PathFlags};

/// The largest file read: a token, CA bundle or namespace is far smaller.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// How much one read asks for: more than a token, CA bundle or namespace holds, so each is
/// read in one call (the host zeroes a buffer this large per read).
const READ_CHUNK: u64 = 16 * 1024;

/// The values of the environment variables `names`, in order, from one host call; `None`
/// for a variable not set (an empty value is `Some("")`).
pub fn env_vars<const N: usize>(names: [&str; N]) -> [Option<String>; N] {
    let mut values = [const { None }; N];
    for (key, value) in wasi::cli::environment::get_environment() {
        if let Some(i) = names.iter().position(|name| *name == key) {
            values[i].get_or_insert(value);
        }
    }
    values
}

/// An environment variable, if set (even if empty).
pub fn env(name: &str) -> Option<String> {
    let [value] = env_vars([name]);
    value
}

/// A directory open for reading its files by name: found among the preopens once, so each
/// file read then costs an open, a read and a close.
pub struct Dir(Descriptor);

impl Dir {
    /// The directory at `path`: a preopen itself, or a directory under one (the longest
    /// match wins).
    pub fn open(path: &str) -> Result<Self, String> {
        let (dir, rel) = preopen_holding(path)?;
        if rel.is_empty() {
            return Ok(Self(dir));
        }
        dir.open_at(
            PathFlags::SYMLINK_FOLLOW,
            &rel,
            OpenFlags::DIRECTORY,
            DescriptorFlags::READ,
        )
        .map(Self)
        .map_err(reason)
    }

    /// The bytes of the file `name` in this directory, or why not; symlinks are followed, as in
    /// a pod's service-account mount.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        read_at(&self.0, name)
    }
}

/// A file's bytes, or why not. The path must lie under a preopened directory (the longest
/// match wins); symlinks inside it are followed, as in a pod's service-account mount.
pub fn read(path: &str) -> Result<Vec<u8>, String> {
    let (dir, rel) = preopen_holding(path)?;
    if rel.is_empty() {
        return Err(reason(ErrorCode::IsDirectory));
    }
    read_at(&dir, &rel)
}

/// The preopened directory holding `path` (the longest match) and the path relative to it
/// (empty when `path` is the preopen itself); the other preopens are closed.
fn preopen_holding(path: &str) -> Result<(Descriptor, String), String> {
    let path = path.trim_end_matches('/');
    let mut best: Option<(usize, Descriptor, String)> = None;
    for (dir, root) in preopens::get_directories() {
        let root = root.trim_end_matches('/');
        let Some(rest) = path.strip_prefix(root) else {
            continue;
        };
        let rel = match rest.strip_prefix('/') {
            Some(rel) => rel,
            None if rest.is_empty() => "",
            None => continue,
        };
        if best.as_ref().is_none_or(|(len, _, _)| root.len() > *len) {
            best = Some((root.len(), dir, rel.to_owned()));
        }
    }
    best.map(|(_, dir, rel)| (dir, rel))
        .ok_or_else(|| "no such file (no preopened directory holds it)".into())
}

/// The bytes of the file at `rel` under `dir`. A short read of a regular file means its end,
/// so a small file takes one read call.
fn read_at(dir: &Descriptor, rel: &str) -> Result<Vec<u8>, String> {
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
        let (chunk, end) = file.read(READ_CHUNK, bytes.len() as u64).map_err(reason)?;
        let short = (chunk.len() as u64) < READ_CHUNK;
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
        }
        if end || short {
            return Ok(bytes);
        }
    }
}

fn reason(code: ErrorCode) -> String {
    match code {
        ErrorCode::NoEntry => "no such file".into(),
        ErrorCode::Access | ErrorCode::NotPermitted => "permission denied".into(),
        ErrorCode::IsDirectory => "is a directory".into(),
        ErrorCode::NotDirectory => "not a directory".into(),
        ErrorCode::Loop => "too many symlinks".into(),
        other => format!("filesystem error {}", other as u8),
    }
}
