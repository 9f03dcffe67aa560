//! include/vsrqa.h is generated from src/capi by cbindgen and committed; this test fails when
//! the committed header is stale. Regenerate with `VSRQA_BLESS_HEADER=1 cargo test --test header`.

use std::path::Path;

#[test]
fn committed_header_matches_cbindgen_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = root.join("include/vsrqa.h");
    if std::env::var_os("VSRQA_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/vsrqa.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/vsrqa.h is stale: run `VSRQA_BLESS_HEADER=1 cargo test --test header` and commit it"
    );
}

/// The C example exists once in substance: README.md's code block and the header's opening
/// comment (written from cbindgen.toml) must be the same lines.
#[test]
fn readme_c_example_is_the_headers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let block = readme
        .split_once("## Use it from C\n\n```c\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("README.md has a C block under \"Use it from C\"");
    let header = std::fs::read_to_string(root.join("include/vsrqa.h")).expect("include/vsrqa.h");
    let example: Vec<&str> = header
        .lines()
        .skip_while(|line| !line.contains("The C API in a dozen lines"))
        .skip(2)
        .take_while(|line| line.trim() != "*")
        .map(|line| line.strip_prefix(" *   ").unwrap_or(line))
        .collect();
    let readme_lines: Vec<&str> = block.lines().map(str::trim_end).collect();
    assert!(!example.is_empty(), "the header has no example");
    assert_eq!(example, readme_lines, "README.md's C example and include/vsrqa.h's differ");
}

/// Everything the header defines is in vsrqa's namespace: a Rust constant cbindgen picks up from
/// outside src/capi must not leak into C programs as a bare macro.
#[test]
fn every_macro_and_function_is_prefixed() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vsrqa.h")).unwrap();
    let is_comment = |line: &&str| ["*", "/*", "//"].iter().any(|start| line.trim_start().starts_with(start));
    let code: Vec<&str> = header.lines().filter(|line| !is_comment(line)).collect();
    for line in &code {
        if let Some(rest) = line.trim_start().strip_prefix("#define ") {
            assert!(rest.starts_with("VSRQA_"), "unprefixed macro: {line}");
        }
    }
    let functions: Vec<&str> = code
        .iter()
        .filter(|line| !line.starts_with(' ') && !line.starts_with('#') && !line.starts_with('}'))
        .filter_map(|line| line.split_once('(').map(|(before, _)| before))
        .filter_map(|before| before.split([' ', '*']).next_back())
        .filter(|name| !name.is_empty())
        .collect();
    assert!(functions.len() > 10, "found only {functions:?}");
    for name in functions {
        assert!(name.starts_with("vsrqa_"), "unprefixed function: {name}");
    }
}
