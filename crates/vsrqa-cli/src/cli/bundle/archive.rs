//! Packing a bundle directory into a tar archive, and reading one back (to check it, or to unpack
//! it into a directory that appears only once every file is checked).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use vsrqa::atomic_file::TEMPORARY_PREFIX;
use vsrqa::bundle::{Bundle, Manifest, MANIFEST_FILE};

use super::disk::{ensure_free, free_bytes};
use super::hashing::{HashingReader, HashingWriter};
use super::sums;

/// What a pack wrote.
pub struct Packed {
    pub files: usize,
    pub bytes: u64,
    pub archive_sha256: String,
}

/// What an unpack or a verify checked.
pub struct Checked {
    pub files: usize,
    pub bytes: u64,
    pub notes: Vec<String>,
}

/// A manifest larger than this is not a manifest (the real ones are a few KiB).
const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// Room for tar headers and SHA256SUMS on top of the files' bytes.
const ARCHIVE_OVERHEAD_BYTES: u64 = 16 << 20;

pub fn pack(dir: &Path, output: &Path) -> Result<Packed, String> {
    let bundle = Bundle::load(dir).map_err(|e| e.to_string())?;
    for named in bundle.manifest.files() {
        // The archive lists files by their plain relative path, which is what the manifest must name.
        if !sums::is_inside(named) {
            return Err(format!(
                "the manifest names {named:?}, not a plain path inside the bundle directory: an archive cannot carry it"
            ));
        }
    }
    if output.exists() {
        return Err(format!("{} exists: choose another name or remove it first", output.display()));
    }
    let output_dir = parent_or_dot(output);
    if let (Ok(out), Ok(bundle_dir)) = (output_dir.canonicalize(), dir.canonicalize()) {
        if out.starts_with(&bundle_dir) {
            return Err(format!("the archive {} would be inside the bundle it packs", output.display()));
        }
    }
    let files = list_files(dir)?;
    let bytes = files.iter().map(|(_, size)| size).sum::<u64>();
    ensure_free(&output_dir, bytes + ARCHIVE_OVERHEAD_BYTES, "the archive")?;

    let network_hashes: BTreeMap<PathBuf, &str> =
        bundle.networks.iter().map(|network| (network.path.clone(), network.sha256.as_str())).collect();
    let prefix = dir
        .canonicalize()
        .ok()
        .and_then(|path| path.file_name().and_then(|name| name.to_str()).map(str::to_string))
        .filter(|name| sums::is_inside(name))
        .unwrap_or_else(|| "bundle".to_string());
    let temporary = output_dir.join(format!(
        "{TEMPORARY_PREFIX}{}-{}",
        std::process::id(),
        output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let removal = RemoveOnDrop::file(temporary.clone());
    let write_error = |e: io::Error| format!("{}: {}", output.display(), describe_write_error(&e));
    let file = File::create(&temporary).map_err(write_error)?;
    let mut builder = tar::Builder::new(HashingWriter::new(BufWriter::with_capacity(1 << 20, file)));
    let mut listing = Vec::with_capacity(files.len());
    for (relative, size) in &files {
        let path = dir.join(relative);
        let source = File::open(&path).map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
        let mut reader = HashingReader::new(source.take(*size));
        builder
            .append_data(&mut file_header(*size), format!("{prefix}/{relative}"), &mut reader)
            .map_err(|e| format!("{}: {e} (while packing {})", output.display(), path.display()))?;
        let hash = reader.hex();
        if let Some(loaded) = network_hashes.get(&path) {
            if *loaded != hash {
                return Err(format!("{} changed while it was packed: pack again", path.display()));
            }
        }
        listing.push((relative.clone(), hash));
    }
    let text = sums::format(listing.iter().map(|(path, hash)| (path.as_str(), hash.as_str())));
    builder
        .append_data(&mut file_header(text.len() as u64), format!("{prefix}/{}", sums::FILE_NAME), text.as_bytes())
        .map_err(write_error)?;
    let mut hashing = builder.into_inner().map_err(write_error)?;
    hashing.flush().map_err(write_error)?;
    let archive_sha256 = hashing.hex();
    let file = hashing.into_inner().into_inner().map_err(|e| write_error(e.into_error()))?;
    file.sync_all().map_err(write_error)?;
    fs::rename(&temporary, output).map_err(write_error)?;
    removal.disarm();
    Ok(Packed { files: files.len() + 1, bytes, archive_sha256 })
}

pub fn unpack(archive: &Path, dir: &Path) -> Result<Checked, String> {
    if dir.exists() && fs::read_dir(dir).map(|mut entries| entries.next().is_some()).unwrap_or(true) {
        return Err(format!("{} exists and is not an empty directory: unpack into a new one", dir.display()));
    }
    let parent = parent_or_dot(dir);
    fs::create_dir_all(&parent).map_err(|e| format!("{}: cannot create it: {e}", parent.display()))?;
    let size = fs::metadata(archive).map_err(|e| format!("{}: {e}", archive.display()))?.len();
    ensure_free(&parent, size, "the unpacked bundle")?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = parent.join(format!("{TEMPORARY_PREFIX}{}-{name}", std::process::id()));
    let removal = RemoveOnDrop::dir(temporary.clone());
    fs::create_dir(&temporary).map_err(|e| format!("{}: cannot create it: {e}", temporary.display()))?;

    let read = read_archive(archive, |relative, reader| {
        let path = temporary.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut file = File::create(&path)?;
        io::copy(reader, &mut file)?;
        file.sync_all()
    })
    .map_err(|e| with_free_space(e, &parent))?;
    fs::write(temporary.join(sums::FILE_NAME), &read.sums_text)
        .map_err(|e| format!("{}: {}", temporary.display(), describe_write_error(&e)))?;
    Bundle::load(&temporary).map_err(|e| format!("the archive's bundle does not load: {e}"))?;
    if dir.exists() {
        fs::remove_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::rename(&temporary, dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    removal.disarm();
    Ok(Checked { files: read.files, bytes: read.bytes, notes: Vec::new() })
}

/// Checks an archive without unpacking it: every entry's hash, the manifest, and the manifest's
/// own network hashes.
pub fn verify_file(archive: &Path) -> Result<Checked, String> {
    let read = read_archive(archive, |_, reader| io::copy(reader, &mut io::sink()).map(|_| ()))?;
    let manifest_path = Path::new(MANIFEST_FILE);
    let manifest = Manifest::from_json(&read.manifest_text, manifest_path).map_err(|e| e.to_string())?;
    for named in manifest.files() {
        if !read.hashes.contains_key(named) {
            return Err(format!("the manifest names {named}, which the archive does not hold"));
        }
    }
    for branch in &manifest.branches {
        let (Some(expected), Some(actual)) = (&branch.sha256, read.hashes.get(&branch.network)) else { continue };
        if !expected.eq_ignore_ascii_case(actual) {
            return Err(format!(
                "{}: SHA-256 is {actual}, the manifest says {expected} (branch '{}')",
                branch.network, branch.name
            ));
        }
    }
    Ok(Checked { files: read.files, bytes: read.bytes, notes: Vec::new() })
}

/// Checks an unpacked bundle: every file SHA256SUMS lists has its hash (first: a changed byte is
/// the most precise diagnosis), and the bundle loads, which checks the manifest's network hashes.
pub fn verify_dir(dir: &Path) -> Result<Checked, String> {
    let sums_path = dir.join(sums::FILE_NAME);
    if !sums_path.exists() {
        let bundle = Bundle::load(dir).map_err(|e| e.to_string())?;
        let hashed = bundle.manifest.branches.iter().filter(|branch| branch.sha256.is_some()).count();
        return Ok(Checked {
            files: hashed,
            bytes: 0,
            notes: vec![format!(
                "no {}: the bundle loads and {hashed} network hashes in its manifest match; `vsrqa bundle pack` \
                 writes a hash for every file",
                sums::FILE_NAME
            )],
        });
    }
    let text = fs::read_to_string(&sums_path).map_err(|e| format!("{}: {e}", sums_path.display()))?;
    let listed = sums::parse(&text).map_err(|e| format!("{}: {e}", sums_path.display()))?;
    let mut bytes = 0;
    for (relative, expected) in &listed {
        let path = dir.join(relative);
        let actual = vsrqa::bundle::sha256_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if &actual != expected {
            return Err(format!("{}: SHA-256 is {actual}, {} says {expected}", path.display(), sums::FILE_NAME));
        }
        bytes += fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    }
    let unlisted: Vec<String> = list_files(dir)?
        .into_iter()
        .map(|(relative, _)| relative)
        .filter(|relative| !listed.contains_key(relative))
        .collect();
    Bundle::load(dir).map_err(|e| e.to_string())?;
    let notes = if unlisted.is_empty() {
        Vec::new()
    } else {
        vec![format!("not in {} (not checked): {}", sums::FILE_NAME, unlisted.join(", "))]
    };
    Ok(Checked { files: listed.len(), bytes, notes })
}

/// What one pass over an archive found.
struct ReadArchive {
    files: usize,
    bytes: u64,
    hashes: BTreeMap<String, String>,
    manifest_text: String,
    sums_text: String,
}

/// Reads every entry once, hashing each file while `consume` reads it, and checks the hashes
/// against the archive's SHA256SUMS: none missing, none extra, none different.
fn read_archive(
    archive: &Path,
    mut consume: impl FnMut(&str, &mut dyn Read) -> io::Result<()>,
) -> Result<ReadArchive, String> {
    let at = |message: String| format!("{}: {message}", archive.display());
    let file = File::open(archive).map_err(|e| at(e.to_string()))?;
    let mut tar = tar::Archive::new(io::BufReader::with_capacity(1 << 20, file));
    let mut prefix: Option<String> = None;
    let mut hashes = BTreeMap::new();
    let (mut bytes, mut manifest_text, mut sums_text) = (0, None, None);
    for entry in tar.entries().map_err(|e| at(format!("not a tar archive: {e}")))? {
        let mut entry = entry.map_err(|e| at(format!("damaged archive: {e}")))?;
        let (top, relative) = entry_path(&entry).map_err(at)?;
        let folder = prefix.get_or_insert_with(|| top.clone());
        if *folder != top {
            return Err(at(format!("entries under two folders, {folder} and {top}")));
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            other => {
                let name = relative.unwrap_or(top);
                return Err(at(format!("{name} is a {other:?} entry; a bundle archive holds only files")));
            }
        }
        let Some(relative) = relative else { return Err(at(format!("a file at the top level, {top}"))) };
        if hashes.contains_key(&relative) || (relative == sums::FILE_NAME && sums_text.is_some()) {
            return Err(at(format!("{relative} is in the archive twice")));
        }
        let size = entry.header().size().map_err(|e| at(format!("{relative}: {e}")))?;
        if relative == sums::FILE_NAME || relative == MANIFEST_FILE {
            if size > MAX_MANIFEST_BYTES {
                return Err(at(format!("{relative} is {size} bytes, too large for what it should be")));
            }
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(|e| at(format!("{relative}: {e}")))?;
            if relative == sums::FILE_NAME {
                sums_text = Some(text);
                continue;
            }
            consume(&relative, &mut text.as_bytes()).map_err(|e| at(format!("{relative}: {e}")))?;
            hashes.insert(relative, vsrqa::bundle::sha256_hex(text.as_bytes()));
            manifest_text = Some(text);
        } else {
            let mut reader = HashingReader::new(&mut entry);
            consume(&relative, &mut reader).map_err(|e| at(format!("{relative}: {}", describe_write_error(&e))))?;
            hashes.insert(relative, reader.hex());
        }
        bytes += size;
    }
    let sums_text =
        sums_text.ok_or_else(|| at(format!("no {}: not an archive `vsrqa bundle pack` wrote", sums::FILE_NAME)))?;
    let listed = sums::parse(&sums_text).map_err(at)?;
    for (relative, expected) in &listed {
        match hashes.get(relative) {
            None => return Err(at(format!("{} lists {relative}, which the archive does not hold", sums::FILE_NAME))),
            Some(actual) if actual != expected => {
                return Err(at(format!("{relative}: SHA-256 is {actual}, {} says {expected}", sums::FILE_NAME)))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = hashes.keys().find(|relative| !listed.contains_key(*relative)) {
        return Err(at(format!("{extra} is not listed in {}", sums::FILE_NAME)));
    }
    let manifest_text = manifest_text.ok_or_else(|| at(format!("no {MANIFEST_FILE}: not a bundle archive")))?;
    Ok(ReadArchive { files: hashes.len() + 1, bytes, hashes, manifest_text, sums_text })
}

/// An entry's top-level folder and its path below it (`None` for the folder itself), refusing
/// absolute paths, `..` and names that are not UTF-8.
fn entry_path<R: Read>(entry: &tar::Entry<R>) -> Result<(String, Option<String>), String> {
    let path = entry.path().map_err(|e| format!("an entry's name cannot be read: {e}"))?;
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => {
                parts.push(part.to_str().ok_or_else(|| format!("{} is not a UTF-8 name", path.display()))?.to_string())
            }
            Component::CurDir => {}
            _ => return Err(format!("{} is not a path inside the archive's folder", path.display())),
        }
    }
    let mut parts = parts.into_iter();
    let top = parts.next().ok_or("an entry with an empty name")?;
    let rest: Vec<String> = parts.collect();
    Ok((top, if rest.is_empty() { None } else { Some(rest.join("/")) }))
}

/// Every regular file under `dir` with its size, as sorted `/`-separated relative paths, without
/// SHA256SUMS (the archive's own is written afresh) and temporaries of interrupted writes.
fn list_files(dir: &Path) -> Result<Vec<(String, u64)>, String> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative_dir) = pending.pop() {
        let here = dir.join(&relative_dir);
        let entries = fs::read_dir(&here).map_err(|e| format!("{}: {e}", here.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", here.display()))?;
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| format!("{}: not a UTF-8 name", entry.path().display()))?;
            let relative = relative_dir.join(name);
            // A link to a file packs the file's content; a link to a folder is refused (it could loop).
            let metadata = fs::metadata(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display()))?;
            if metadata.is_dir() {
                if entry.file_type().map(|t| t.is_symlink()).unwrap_or(false) {
                    return Err(format!("{} is a link to a folder: copy the folder in", entry.path().display()));
                }
                pending.push(relative);
            } else if metadata.is_file() {
                let relative = relative.to_str().unwrap_or(name).to_string();
                if relative == sums::FILE_NAME || name.starts_with(TEMPORARY_PREFIX) {
                    continue;
                }
                files.push((relative, metadata.len()));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn file_header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

fn parent_or_dot(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn describe_write_error(error: &io::Error) -> String {
    if vsrqa::atomic_file::is_disk_full(error) {
        format!("{error}: the disk is full")
    } else {
        error.to_string()
    }
}

/// A full disk found mid-way says how much room there was.
fn with_free_space(message: String, dir: &Path) -> String {
    if message.contains("the disk is full") {
        if let Ok(free) = free_bytes(dir) {
            return format!("{message} ({free} bytes free in {})", dir.display());
        }
    }
    message
}

/// Removes a half-written file or folder unless the work completed.
struct RemoveOnDrop {
    path: Option<PathBuf>,
    is_dir: bool,
}

impl RemoveOnDrop {
    fn file(path: PathBuf) -> Self {
        RemoveOnDrop { path: Some(path), is_dir: false }
    }

    fn dir(path: PathBuf) -> Self {
        RemoveOnDrop { path: Some(path), is_dir: true }
    }

    fn disarm(mut self) {
        self.path = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = if self.is_dir { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        }
    }
}
