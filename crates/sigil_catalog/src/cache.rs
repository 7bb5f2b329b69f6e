//! The catalog cache: the per-document part of a catalog ([`Built`]: every page as built from its document,
//! the sources and the failed files) kept in a file, so `sigil show`, `stats`, `events`, `serve` and `site`
//! skip reading, parsing and enriching every rule when nothing changed.
//!
//! What is cached is the output of the only expensive step that depends on nothing but the inputs; keys, links
//! between pages, regression samples, corpus counts, indexes, statistics and search are computed from it by
//! [`Catalog::assemble`] exactly as for a fresh build, so a cached catalog cannot differ from a fresh one.
//!
//! The cache is never stale: a file is used only when its key equals the key of this run, and the key holds
//! - the sigil version and the running executable's size and modification time (another build, other code);
//! - the working folder, the sources (names and paths as given) and the load options;
//! - path, size and modification time (to the nanosecond) of every file and folder below every source path
//!   (so an edited, touched, added, removed or renamed file changes the key; `.git` folders are left out), and
//!   of every extra input file the caller names (mapping files that went into the knowledge tables).
//!
//! An edit that keeps a file's size and restores its modification time is the one change the key cannot see.
//!
//! The file is `MAGIC`, the key (MessagePack), the payload's CRC-32 and length, then the payload: a count of
//! parts and each part's length and bytes; the first part holds the pages' local paths, the sources and the
//! failed files, the others the pages, [`PAGES_PER_PART`] at a time, so that they are encoded and decoded in
//! parallel. Parts are MessagePack with named fields: pages serialise with skipped and tagged fields, which a
//! format without field names cannot read back. A file that is missing, truncated, corrupt, of another format
//! version or of another key is ignored and rebuilt — never an error. Files are written to a temporary file in the cache
//! folder and renamed into place, so a reader sees the old file or the new one, never half of one. Deleting
//! the folder is always safe.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sigil_knowledge::Knowledge;

use crate::catalog::{Built, Catalog, CatalogOptions};
use crate::error::Result;
use crate::page::RulePage;
use crate::source::SourceSpec;

/// First bytes of every cache file; the number is the format version (bump it when [`Built`] changes shape).
const MAGIC: &[u8; 16] = b"sigil-catalog-2\n";

/// Pages per part of the payload (parts are decoded in parallel).
const PAGES_PER_PART: usize = 64;

/// Environment variable naming the cache folder (instead of `$XDG_CACHE_HOME/sigil` or the platform's).
pub const CACHE_DIR_ENV: &str = "SIGIL_CACHE_DIR";

/// Where and how to cache a catalog (see [`Catalog::load_cached`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogCache {
    /// The cache folder (created when needed).
    pub dir: PathBuf,
    /// Files read into the options' knowledge tables (mapping files): part of the key.
    pub inputs: Vec<PathBuf>,
}

impl CatalogCache {
    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CatalogCache { dir: dir.into(), inputs: Vec::new() }
    }

    /// The default folder: `$SIGIL_CACHE_DIR` if set and not empty, else the user's cache folder
    /// (`$XDG_CACHE_HOME/sigil`, `~/.cache/sigil`, `~/Library/Caches/sigil`, `%LOCALAPPDATA%\sigil`); `None` when
    /// there is none.
    pub fn default_dir() -> Option<PathBuf> {
        match std::env::var_os(CACHE_DIR_ENV) {
            Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
            _ => dirs::cache_dir().map(|d| d.join("sigil")),
        }
    }

    /// Adds files whose contents went into the options (mapping files).
    #[must_use]
    pub fn with_inputs(mut self, inputs: impl IntoIterator<Item = PathBuf>) -> Self {
        self.inputs.extend(inputs);
        self
    }
}

/// How a [`Catalog::load_cached`] went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The cache file matched and was used.
    Hit,
    /// The catalog was built from the rules (why: no file yet, inputs changed, unreadable file) and the cache
    /// file written, or not (then the note says why; the catalog is complete either way).
    Rebuilt {
        /// Why the cache was not used.
        reason: String,
        /// Why the new cache file could not be written, if it could not.
        write_error: Option<String>,
    },
}

/// Size and modification time of one input; `len` and `mtime` are `None` when it cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    path: String,
    dir: bool,
    len: Option<u64>,
    mtime: Option<(u64, u32)>,
}

impl Stamp {
    fn of(path: &Path) -> Stamp {
        let meta = std::fs::metadata(path).ok();
        let mtime = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| (d.as_secs(), d.subsec_nanos()));
        Stamp {
            path: path.to_string_lossy().into_owned(),
            dir: meta.as_ref().is_some_and(std::fs::Metadata::is_dir),
            len: meta.as_ref().map(std::fs::Metadata::len),
            mtime,
        }
    }
}

/// Everything a cached catalog depends on. Two runs with equal keys build equal [`Built`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Key {
    /// Which inputs, options and build: decides the file name.
    identity: Identity,
    /// The state of every input file.
    files: Vec<Stamp>,
    inputs: Vec<Stamp>,
    exe: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    version: String,
    cwd: String,
    sources: Vec<(String, Vec<String>)>,
    load: String,
    inputs: Vec<String>,
}

/// The first part of the payload: the pages' local paths (not serialised with the pages, which publish only
/// their relative path), the sources and the failed files.
#[derive(Serialize, Deserialize)]
struct Head {
    paths: Vec<String>,
    sources: Vec<crate::catalog::SourceInfo>,
    failed: Vec<crate::catalog::FailedFile>,
}

fn key(sources: &[SourceSpec], opts: &CatalogOptions, cache: &CatalogCache) -> Key {
    let load = &opts.load;
    let identity = Identity {
        version: env!("CARGO_PKG_VERSION").to_string(),
        cwd: std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default(),
        sources: sources
            .iter()
            .map(|s| (s.name.clone(), s.paths.iter().map(|p| p.to_string_lossy().into_owned()).collect()))
            .collect(),
        load: format!("{:?} linter={} nodes={}", load.limits, load.linter.is_some(), load.keep_nodes),
        inputs: cache.inputs.iter().map(|p| p.to_string_lossy().into_owned()).collect(),
    };
    // The walk lists the paths; their metadata is read in parallel (one `stat` per file).
    let mut entries: Vec<std::result::Result<PathBuf, String>> = Vec::new();
    for root in sources.iter().flat_map(|s| &s.paths) {
        let walk = walkdir::WalkDir::new(root).sort_by_file_name().into_iter();
        for entry in walk.filter_entry(|e| e.file_name() != ".git") {
            entries.push(match entry {
                Ok(e) => Ok(e.into_path()),
                // An unreadable folder: its path and error text are part of the key.
                Err(e) => Err(format!("{}: {e}", e.path().map(|p| p.display().to_string()).unwrap_or_default())),
            });
        }
    }
    let files: Vec<Stamp> = entries
        .par_iter()
        .map(|entry| match entry {
            Ok(path) => Stamp::of(path),
            Err(path) => Stamp { path: path.clone(), dir: false, len: None, mtime: None },
        })
        .collect();
    let exe = std::env::current_exe().ok().map(|p| Stamp::of(&p));
    Key { identity, files, inputs: cache.inputs.iter().map(|p| Stamp::of(p)).collect(), exe }
}

fn file_name(identity: &Identity) -> String {
    let bytes = rmp_serde::to_vec_named(identity).unwrap_or_default();
    format!("catalog-{:08x}.bin", crc32fast::hash(&bytes))
}

/// Reads a cache file: the built part when the file is whole and its key is `key`, else why not.
fn read(path: &Path, key: &Key) -> std::result::Result<Built, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("no cache file ({e})"))?;
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a cache file of this version")?;
    let (key_len, rest) = take_u64(rest)?;
    let key_len = usize::try_from(key_len).map_err(|_| "corrupt cache file")?;
    let (key_bytes, rest) = rest.split_at_checked(key_len).ok_or("truncated cache file")?;
    let stored: Key = rmp_serde::from_slice(key_bytes).map_err(|_| "corrupt cache file key")?;
    if stored != *key {
        return Err(describe_change(&stored, key));
    }
    let (crc, rest) = take_u64(rest)?;
    let (len, payload) = take_u64(rest)?;
    if usize::try_from(len).ok() != Some(payload.len()) {
        return Err("truncated cache file".into());
    }
    if u64::from(crc32fast::hash(payload)) != crc {
        return Err("corrupt cache file (checksum)".into());
    }
    let (count, mut rest) = take_u64(payload)?;
    let mut parts: Vec<&[u8]> = Vec::new();
    for _ in 0..count {
        let (len, after) = take_u64(rest)?;
        let len = usize::try_from(len).map_err(|_| "corrupt cache file")?;
        let (part, after) = after.split_at_checked(len).ok_or("corrupt cache file")?;
        parts.push(part);
        rest = after;
    }
    let (head, pages) = parts.split_first().ok_or("corrupt cache file")?;
    let (head, pages) = rayon::join(
        || rmp_serde::from_slice::<Head>(head),
        || {
            pages
                .par_iter()
                .map(|part| rmp_serde::from_slice::<Vec<RulePage>>(part))
                .collect::<std::result::Result<Vec<_>, _>>()
        },
    );
    let (Ok(Head { paths, sources, failed }), Ok(pages)) = (head, pages) else {
        return Err("corrupt cache file".into());
    };
    let mut pages: Vec<RulePage> = pages.into_iter().flatten().collect();
    if !rest.is_empty() || paths.len() != pages.len() {
        return Err("corrupt cache file".into());
    }
    for (page, path) in pages.iter_mut().zip(paths) {
        page.path = path;
    }
    Ok(Built { pages, sources, failed })
}

fn take_u64(bytes: &[u8]) -> std::result::Result<(u64, &[u8]), String> {
    let (head, rest) = bytes.split_first_chunk::<8>().ok_or("truncated cache file")?;
    Ok((u64::from_le_bytes(*head), rest))
}

/// The first difference between two keys, for the log.
fn describe_change(old: &Key, new: &Key) -> String {
    if old.identity != new.identity || old.exe != new.exe {
        return "another sigil build or other options".into();
    }
    let changed =
        new.files.iter().chain(&new.inputs).find(|s| !old.files.contains(s) && !old.inputs.contains(s)).or_else(|| {
            old.files.iter().chain(&old.inputs).find(|s| !new.files.contains(s) && !new.inputs.contains(s))
        });
    match changed {
        Some(s) => format!("{} changed", s.path),
        None => "inputs changed".into(),
    }
}

/// Writes the cache file through a temporary file renamed into place.
fn write(dir: &Path, name: &str, key: &Key, built: &Built) -> std::io::Result<()> {
    let invalid = |e: rmp_serde::encode::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let key_bytes = rmp_serde::to_vec_named(key).map_err(invalid)?;
    let head = HeadRef {
        paths: built.pages.iter().map(|p| p.path.as_str()).collect(),
        sources: &built.sources,
        failed: &built.failed,
    };
    let (head, pages) = rayon::join(
        || rmp_serde::to_vec_named(&head),
        || {
            built
                .pages
                .par_chunks(PAGES_PER_PART)
                .map(rmp_serde::to_vec_named)
                .collect::<std::result::Result<Vec<_>, _>>()
        },
    );
    let parts: Vec<Vec<u8>> = std::iter::once(head.map_err(invalid)?).chain(pages.map_err(invalid)?).collect();
    let mut payload = Vec::with_capacity(8 + parts.iter().map(|p| p.len() + 8).sum::<usize>());
    payload.extend_from_slice(&(parts.len() as u64).to_le_bytes());
    for part in &parts {
        payload.extend_from_slice(&(part.len() as u64).to_le_bytes());
        payload.extend_from_slice(part);
    }
    std::fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(MAGIC)?;
        f.write_all(&(key_bytes.len() as u64).to_le_bytes())?;
        f.write_all(&key_bytes)?;
        f.write_all(&u64::from(crc32fast::hash(&payload)).to_le_bytes())?;
        f.write_all(&(payload.len() as u64).to_le_bytes())?;
        f.write_all(&payload)?;
        f.into_inner().map_err(std::io::IntoInnerError::into_error)?.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// [`Head`] borrowed, for writing.
#[derive(Serialize)]
struct HeadRef<'a> {
    paths: Vec<&'a str>,
    sources: &'a [crate::catalog::SourceInfo],
    failed: &'a [crate::catalog::FailedFile],
}

impl Catalog {
    /// [`Catalog::load`] through a cache: when the cache folder holds a file for these sources and options whose
    /// key matches every input as it is now, the pages are read from it; otherwise the catalog is built and
    /// the file (re)written. The catalog is the same either way; the cache never causes an error (a file that
    /// cannot be read or written is reported in the [`CacheOutcome`] and otherwise ignored).
    ///
    /// # Errors
    /// As [`Catalog::load`].
    pub fn load_cached(
        sources: &[SourceSpec],
        opts: &CatalogOptions,
        cache: &CatalogCache,
    ) -> Result<(Catalog, CacheOutcome)> {
        let started = Instant::now();
        let knowledge = match &opts.knowledge {
            Some(k) => k.clone(),
            None => Knowledge::builtin()?.clone(),
        };
        let key = key(sources, opts, cache);
        let name = file_name(&key.identity);
        let path = cache.dir.join(&name);
        let reason = match read(&path, &key) {
            Ok(built) => {
                let mut catalog = Catalog::assemble(built, opts, knowledge);
                catalog.load_time = started.elapsed();
                return Ok((catalog, CacheOutcome::Hit));
            }
            Err(reason) => reason,
        };
        let (built, set) = Catalog::build_pages(sources, opts, &knowledge);
        let write_error = write(&cache.dir, &name, &key, &built).err().map(|e| format!("{}: {e}", path.display()));
        let mut catalog = Catalog::assemble(built, opts, knowledge);
        catalog.load_time = started.elapsed();
        let _ = std::thread::Builder::new().name("sigil-catalog-free".into()).spawn(move || drop(set));
        Ok((catalog, CacheOutcome::Rebuilt { reason, write_error }))
    }
}
