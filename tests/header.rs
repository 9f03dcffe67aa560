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
