//! The dataset list of `vsrqa features` and `vsrqa eval`: a CSV file with one video per row,
//! `path,mos[,group]`. A header row is optional (recognized when its second field is not a
//! number; then the columns are found by name: path/filename/file/video, mos/score,
//! group/difficulty). Relative paths are relative to the CSV file's directory.
//!
//! `vsrqa compare` reads the same files without the MOS: rows that start with a path (the other
//! fields are ignored), and a header row when the first row names a path column.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::Failure;

#[derive(Clone, Debug, PartialEq)]
pub struct Video {
    /// The path as the list writes it: the video's name in a feature bank and in reports.
    pub name: String,
    /// The file to open.
    pub path: PathBuf,
    pub mos: f64,
    pub group: Option<String>,
}

pub fn read_list(list: &Path) -> Result<Vec<Video>, Failure> {
    let text = std::fs::read_to_string(list).map_err(|e| format!("--list {}: cannot read: {e}", list.display()))?;
    parse_list(&text, list.parent().unwrap_or(Path::new("")))
        .map_err(|e| Failure::from(format!("--list {}: {e}", list.display())))
}

/// A video of an unlabelled list (`vsrqa compare`).
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    /// The path as the list writes it, for reports.
    pub name: String,
    /// The file to open.
    pub path: PathBuf,
}

pub fn read_paths(list: &Path) -> Result<Vec<Listed>, Failure> {
    let text = std::fs::read_to_string(list).map_err(|e| format!("--list {}: cannot read: {e}", list.display()))?;
    parse_paths(&text, list.parent().unwrap_or(Path::new("")))
        .map_err(|e| Failure::from(format!("--list {}: {e}", list.display())))
}

/// The header names of the path column.
const PATH_COLUMNS: [&str; 5] = ["path", "filename", "file", "video", "name"];

fn parse_paths(text: &str, base: &Path) -> Result<Vec<Listed>, String> {
    let rows = records(text)?;
    let header = rows
        .first()
        .and_then(|(_, first)| first.iter().position(|h| PATH_COLUMNS.contains(&h.to_ascii_lowercase().as_str())));
    let (column, first) = match header {
        Some(column) => (column, 1),
        None => (0, 0),
    };
    let mut videos = Vec::new();
    let mut seen = HashSet::new();
    for (line, record) in &rows[first..] {
        let name = record.get(column).unwrap_or("").to_string();
        if name.is_empty() {
            return Err(format!("line {line}: no video path"));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("line {line}: '{name}' is listed twice"));
        }
        videos.push(Listed { path: base.join(&name), name });
    }
    if videos.is_empty() {
        return Err("no videos listed".into());
    }
    Ok(videos)
}

/// The list's non-empty rows with their line numbers.
fn records(text: &str) -> Result<Vec<(usize, csv::StringRecord)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("line {}: {e}", i + 1))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows.push((i + 1, record));
    }
    Ok(rows)
}

fn parse_list(text: &str, base: &Path) -> Result<Vec<Video>, String> {
    let rows = records(text)?;
    let (mut columns, mut first) = ([0usize, 1, 2], 0);
    if let Some((_, header)) = rows.first() {
        if header.get(1).is_none_or(|v| v.parse::<f64>().is_err()) {
            columns = header_columns(header)?;
            first = 1;
        }
    }
    let mut videos = Vec::new();
    let mut seen = HashSet::new();
    for (line, record) in &rows[first..] {
        let field = |c: usize| record.get(c).unwrap_or("");
        let name = field(columns[0]).to_string();
        if name.is_empty() {
            return Err(format!("line {line}: no video path"));
        }
        let mos: f64 = field(columns[1])
            .parse()
            .map_err(|_| format!("line {line}: MOS \"{}\" is not a number", field(columns[1])))?;
        if !mos.is_finite() {
            return Err(format!("line {line}: MOS must be a finite number"));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("line {line}: '{name}' is listed twice"));
        }
        let group = Some(field(columns[2]).to_string()).filter(|g| !g.is_empty());
        videos.push(Video { path: base.join(&name), name, mos, group });
    }
    if videos.is_empty() {
        return Err("no videos listed".into());
    }
    Ok(videos)
}

/// The positions of the path, MOS and group columns from a header row (group may be absent:
/// then a position no row has).
fn header_columns(header: &csv::StringRecord) -> Result<[usize; 3], String> {
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.to_ascii_lowercase().as_str()));
    let path = find(&PATH_COLUMNS).ok_or("the header has no path column (path, filename, file, video or name)")?;
    let mos = find(&["mos", "score", "dmos", "label"]).ok_or("the header has no MOS column (mos or score)")?;
    let group = find(&["group", "difficulty", "level"]).unwrap_or(usize::MAX);
    Ok([path, mos, group])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_with_and_without_header() {
        let plain = parse_list("a.y4m,3.5\nsub/b.mp4, 4 ,hard\n", Path::new("/data")).unwrap();
        assert_eq!(plain.len(), 2);
        assert_eq!(plain[1].path, Path::new("/data/sub/b.mp4"));
        assert_eq!((plain[1].mos, plain[1].group.as_deref()), (4.0, Some("hard")));
        assert_eq!(plain[0].group, None);
        let headed = parse_list("\u{feff}difficulty,score,filename\neasy,1.25,x.y4m\n", Path::new("")).unwrap();
        assert_eq!(
            headed,
            vec![Video { name: "x.y4m".into(), path: "x.y4m".into(), mos: 1.25, group: Some("easy".into()) }]
        );
    }

    #[test]
    fn unlabelled_lists_take_the_path_column() {
        let bare = parse_paths("a.y4m\nsub/b.mp4,ignored\n", Path::new("/data")).unwrap();
        assert_eq!(bare[1], Listed { name: "sub/b.mp4".into(), path: "/data/sub/b.mp4".into() });
        let labelled = parse_paths("MOS,Filename\n3.5,x.y4m\n", Path::new("")).unwrap();
        assert_eq!(labelled, vec![Listed { name: "x.y4m".into(), path: "x.y4m".into() }]);
        assert!(parse_paths("a.y4m\na.y4m\n", Path::new("")).unwrap_err().contains("listed twice"));
        assert!(parse_paths("path\n\n", Path::new("")).unwrap_err().contains("no videos"));
        assert!(parse_paths("x.y4m\n,1\n", Path::new("")).unwrap_err().contains("line 2: no video path"));
    }

    #[test]
    fn bad_lists_are_explained() {
        assert!(parse_list("a,b,c\nx,1\n", Path::new("")).unwrap_err().contains("no path column"));
        assert!(parse_list("a.y4m,1\nb.y4m,high\n", Path::new("")).unwrap_err().contains("line 2: MOS \"high\""));
        assert!(parse_list("a.y4m,1\na.y4m,2\n", Path::new("")).unwrap_err().contains("listed twice"));
        assert!(parse_list("path,mos\n", Path::new("")).unwrap_err().contains("no videos"));
        assert!(parse_list("a.y4m,nan\n", Path::new("")).unwrap_err().contains("finite"));
    }
}
