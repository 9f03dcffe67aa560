//! include/vsrqa.h is generated from crates/vsrqa-capi by cbindgen and committed; this test fails when
//! the committed header is stale. Regenerate with `VSRQA_BLESS_HEADER=1 cargo test --test header`.

use std::path::Path;

#[test]
fn committed_header_matches_cbindgen_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    // Only the C API's crate: nothing vsrqa itself defines can reach the header.
    cbindgen::Builder::new()
        .with_src(root.join("crates/vsrqa-capi/src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = guarded_stdc_version(&c89_comments(&String::from_utf8(generated).expect("UTF-8 header")));
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

/// cbindgen ends its `#endif` and `extern "C"` lines with `//` comments and the last enumerator
/// with a comma, which C89 refuses; the header is C89, so they become `/* */` comments and the
/// comma goes. (Comments inside `/* */` blocks are left.)
fn c89_comments(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let lines: Vec<&str> = header.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if line.ends_with(",\n") && lines.get(i + 1).is_some_and(|next| next.starts_with("};")) {
            out.push_str(&line.replace(",\n", "\n"));
            continue;
        }
        let code_with_trailing_comment = !line.trim_start().starts_with('*') && !line.trim_start().starts_with("/*");
        match line.split_once("//").filter(|_| code_with_trailing_comment) {
            Some((code, comment)) => {
                out.push_str(&format!("{code}/* {} */\n", comment.trim()));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// cbindgen tests `__STDC_VERSION__ >= 202311L` bare, which C89 compilers warn about under
/// `-Wundef` (C89 does not define it): each test is guarded with `defined(__STDC_VERSION__)`.
fn guarded_stdc_version(header: &str) -> String {
    header.replace("__STDC_VERSION__ >= 202311L", "(defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L)")
}

/// The strictest warnings the headers are kept clean of, beyond -Wall -Wextra -pedantic: what
/// careful C and C++ projects build with.
const STRICT: [&str; 7] = ["-Wall", "-Wextra", "-pedantic", "-Werror", "-Wundef", "-Wshadow", "-Wconversion"];

/// Compiles `source` (syntax only) with the repository's include/ as `-I`, as pkg-config's
/// `--cflags` gives it (CMake's imported targets use -isystem, which hides the headers' warnings).
fn compile(compiler: &str, flags: &[&str], source: &Path) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::process::Command::new(compiler)
        .args(flags)
        .args(STRICT)
        .arg("-fsyntax-only")
        .arg("-I")
        .arg(root.join("include"))
        .arg(source)
        .output()
        .unwrap_or_else(|e| panic!("{compiler}: {e}"))
}

/// The header compiles as C89, C99, C11, C17 and C23 with every warning an error (and as C++11,
/// C++17 and C++20): programs built with old or strict compilers can include it.
#[test]
fn header_compiles_in_every_c_and_cpp_standard_with_strict_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("include_only.c");
    std::fs::write(&source, "#include \"vsrqa.h\"\nint main(void) { return (int)vsrqa_version_api() == 0; }\n")
        .unwrap();
    for (compiler, standard) in [
        ("cc", "c89"),
        ("cc", "c99"),
        ("cc", "c11"),
        ("cc", "c17"),
        ("cc", "c2x"),
        ("c++", "c++11"),
        ("c++", "c++17"),
        ("c++", "c++20"),
    ] {
        let language = if compiler == "cc" { "c" } else { "c++" };
        let output = compile(compiler, &[&format!("-std={standard}"), "-x", language], &source);
        assert!(
            output.status.success(),
            "vsrqa.h fails with {compiler} -std={standard} {STRICT:?}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// vsrqa.hpp compiles clean in C++17 and C++20 with strict warnings as errors when included with
/// -I, every inline function instantiated (hpp_test.cpp uses the whole wrapper).
#[test]
fn cpp_wrapper_compiles_with_strict_warnings_in_cpp17_and_cpp20() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = root.join("tests/capi/hpp_test.cpp");
    for standard in ["c++17", "c++20"] {
        let output = compile("c++", &[&format!("-std={standard}")], &source);
        assert!(
            output.status.success(),
            "vsrqa.hpp fails with c++ -std={standard} {STRICT:?}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Before C++17 vsrqa.hpp says what it needs, in one clear error, instead of std::optional's.
#[test]
fn cpp_wrapper_before_cpp17_says_it_needs_cpp17() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("include_hpp.cpp");
    std::fs::write(&source, "#include \"vsrqa.hpp\"\nint main() { return 0; }\n").unwrap();
    for standard in ["c++11", "c++14"] {
        let output = compile("c++", &[&format!("-std={standard}")], &source);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "vsrqa.hpp compiled as {standard}");
        assert!(stderr.contains("vsrqa.hpp needs C++17"), "{standard}:\n{stderr}");
        assert_eq!(
            stderr.matches("error:").count(),
            1,
            "{standard}: more errors than the one that says why:\n{stderr}"
        );
    }
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
/// outside crates/vsrqa-capi must not leak into C programs as a bare macro.
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
    // Types: typedef names and struct/enum tags.
    let mut types = 0;
    for line in &code {
        let words: Vec<&str> =
            line.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()).collect();
        for pair in words.windows(2) {
            if matches!(pair[0], "struct" | "enum") {
                types += 1;
                assert!(pair[1].starts_with("Vsrqa"), "unprefixed type: {line}");
            }
        }
        if line.starts_with("typedef ") {
            let name =
                line.trim_end_matches(';').rsplit(|c: char| !c.is_alphanumeric() && c != '_').find(|w| !w.is_empty());
            let name = name.filter(|n| !n.is_empty()).unwrap_or_default();
            // Function pointer typedefs end in their parameter list: their name is in (*Name).
            let name = line.split_once("(*").and_then(|(_, r)| r.split_once(')')).map_or(name, |(n, _)| n);
            assert!(name.starts_with("Vsrqa"), "unprefixed typedef: {line}");
        }
    }
    assert!(types > 5, "found only {types} types");
}

/// Every function that returns a status lists the statuses it returns, as dav1d and libvmaf do.
#[test]
fn every_function_lists_its_statuses() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vsrqa.h")).unwrap();
    let mut comment = String::new();
    let mut checked = 0;
    for line in header.lines() {
        if line.starts_with("/**") {
            comment.clear();
        }
        comment.push_str(line);
        comment.push('\n');
        if let Some(name) = line.strip_prefix("VsrqaStatus ").and_then(|rest| rest.split('(').next()) {
            checked += 1;
            assert!(comment.contains("Returns VSRQA_OK"), "{name}'s comment does not list its statuses:\n{comment}");
        }
    }
    assert!(checked >= 12, "found {checked} functions returning VsrqaStatus");
}

/// No Rust doc heading leaks into the C header: the contracts are written for C programmers.
#[test]
fn no_rust_doc_headings_in_the_header() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vsrqa.h")).unwrap();
    for heading in ["# Safety", "# Errors", "# Panics", "[`"] {
        assert!(!header.contains(heading), "include/vsrqa.h contains {heading:?}");
    }
}

/// The header's `VSRQA_PIXEL_FORMAT_*` constants are the pixel-format table's codes
/// (src/frame/format.rs): one constant per format, with its code, and no other.
#[test]
fn the_headers_pixel_formats_are_the_format_tables_codes() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vsrqa.h")).unwrap();
    let constants: Vec<(&str, u32)> = header
        .lines()
        .filter_map(|line| line.strip_prefix("#define VSRQA_PIXEL_FORMAT_"))
        .map(|rest| {
            let (name, value) = rest.split_once(' ').expect("#define VSRQA_PIXEL_FORMAT_<NAME> <code>");
            (name, value.trim().parse().expect("a decimal code"))
        })
        .collect();
    let table: Vec<(&str, u32)> = vsrqa::frame::format::DESCRIPTORS.iter().map(|d| (d.abi_name, d.code)).collect();
    assert_eq!(constants, table, "include/vsrqa.h's VSRQA_PIXEL_FORMAT_* against src/frame/format.rs");
}
