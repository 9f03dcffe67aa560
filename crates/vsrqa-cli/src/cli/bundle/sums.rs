//! `SHA256SUMS`: one line `<64 hex digits>  <path>` per file, as `sha256sum` writes and
//! `sha256sum -c` reads it, so a user can check an unpacked bundle without vsrqa.

use std::collections::BTreeMap;

pub const FILE_NAME: &str = "SHA256SUMS";

/// The listing's text for `(path, hex hash)` pairs, in the given order.
pub fn format<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    entries.into_iter().map(|(path, hash)| format!("{hash}  {path}\n")).collect()
}

/// Path -> lower-case hex hash. A line that is not `<hash>  <path>`, a path listed twice, or a
/// path that leaves the bundle is an error naming the line.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut sums = BTreeMap::new();
    for (number, line) in text.lines().enumerate().map(|(i, line)| (i + 1, line)) {
        let malformed = || format!("{FILE_NAME} line {number} is not '<sha256>  <path>': {line:?}");
        let (hash, path) = line.split_once("  ").ok_or_else(malformed)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || path.is_empty() {
            return Err(malformed());
        }
        if !is_inside(path) {
            return Err(format!("{FILE_NAME} line {number}: {path:?} is not a path inside the bundle"));
        }
        if sums.insert(path.to_string(), hash.to_ascii_lowercase()).is_some() {
            return Err(format!("{FILE_NAME} lists {path:?} twice"));
        }
    }
    Ok(sums)
}

/// Whether a `/`-separated relative path stays inside its directory: no root, no `..`, no empty
/// or `.` component.
pub fn is_inside(path: &str) -> bool {
    !path.starts_with('/') && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn formats_what_it_parses() {
        let text = format([("vsrqa.json", HASH), ("networks/spatial.onnx", HASH)]);
        let sums = parse(&text).unwrap();
        assert_eq!(sums.len(), 2);
        assert_eq!(sums["networks/spatial.onnx"], HASH);
    }

    #[test]
    fn refuses_damaged_and_escaping_lines() {
        assert!(parse(&format!("{HASH} vsrqa.json\n")).unwrap_err().contains("line 1"));
        assert!(parse(&format!("{}  vsrqa.json\n", &HASH[1..])).is_err());
        assert!(parse(&format!("{HASH}  ../etc/passwd\n")).unwrap_err().contains("not a path inside"));
        assert!(parse(&format!("{HASH}  /etc/passwd\n")).is_err());
        assert!(parse(&format!("{HASH}  a\n{HASH}  a\n")).unwrap_err().contains("twice"));
    }

    #[test]
    fn upper_case_hashes_compare_equal() {
        let sums = parse(&format!("{}  a\n", HASH.to_ascii_uppercase())).unwrap();
        assert_eq!(sums["a"], HASH);
    }
}
