//! `vsrqa bundle pack | unpack | verify`: a bundle as one archive, checked file by file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/small_filesystem.rs"]
mod small_filesystem;

use cli::{data, stderr, vsrqa};

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", stderr(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A copy of the tiny bundle, so tests can damage it.
fn tiny_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("tiny");
    fs::create_dir(&copy).unwrap();
    vsrqa_testkit::copy_files(&data("tiny_bundle"), &copy);
    copy
}

fn pack(bundle: &Path, archive: &Path) -> String {
    ok(&vsrqa(&["bundle", "pack", path(bundle), "-o", path(archive)]))
}

/// The clip score of tests/data/sample.y4m with `bundle`, as JSON text (exact digits).
fn clip_score(bundle: &Path) -> String {
    let output = vsrqa(&["score", "-m", path(bundle), path(&data("sample.y4m"))]);
    let report: serde_json::Value = serde_json::from_str(&ok(&output)).unwrap();
    report["clip_score"].to_string()
}

/// Where `name`'s bytes start inside the archive.
fn offset_of(archive: &Path, name: &str) -> u64 {
    let mut tar = tar::Archive::new(fs::File::open(archive).unwrap());
    for entry in tar.entries().unwrap() {
        let entry = entry.unwrap();
        if entry.path().unwrap().ends_with(name) {
            return entry.raw_file_position();
        }
    }
    panic!("{name} is not in the archive");
}

fn flip_byte(file: &Path, at: u64) {
    let mut bytes = fs::read(file).unwrap();
    bytes[at as usize] ^= 0x55;
    fs::write(file, bytes).unwrap();
}

#[test]
fn a_packed_bundle_unpacks_to_the_same_scores_and_packs_to_the_same_bytes() {
    let temp = tempfile::tempdir().unwrap();
    let bundle = data("tiny_bundle");
    let archive = temp.path().join("tiny.vsrqa.tar");
    let said = pack(&bundle, &archive);
    let networks = fs::read_dir(&bundle).unwrap().count();
    assert!(said.contains(&format!("packed {} files", networks + 1)), "{said}");

    // Deterministic: the same bundle gives the same archive, byte for byte.
    let again = temp.path().join("again.tar");
    pack(&bundle, &again);
    assert_eq!(fs::read(&archive).unwrap(), fs::read(&again).unwrap());
    let archive_hash = said.lines().find_map(|l| l.strip_prefix("sha256 of the archive: ")).unwrap();
    assert_eq!(archive_hash, vsrqa::bundle::sha256_file(&archive).unwrap());

    // A plain tar with one folder, SHA256SUMS last, readable by `sha256sum -c`.
    let listing = ok(&std::process::Command::new("tar").args(["tf", path(&archive)]).output().unwrap());
    assert!(listing.lines().all(|l| l.starts_with("tiny_bundle/")), "{listing}");
    assert_eq!(listing.lines().last(), Some("tiny_bundle/SHA256SUMS"));

    assert!(ok(&vsrqa(&["bundle", "verify", path(&archive)])).contains("every hash matches"));
    let unpacked = temp.path().join("deployed/model");
    let said = ok(&vsrqa(&["bundle", "unpack", path(&archive), path(&unpacked)]));
    assert!(said.contains("the bundle loads"), "{said}");
    for entry in fs::read_dir(&bundle).unwrap() {
        let entry = entry.unwrap();
        assert_eq!(fs::read(entry.path()).unwrap(), fs::read(unpacked.join(entry.file_name())).unwrap());
    }
    let checked = std::process::Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&unpacked).output();
    assert!(ok(&checked.unwrap()).lines().all(|l| l.ends_with(": OK")));
    assert!(ok(&vsrqa(&["bundle", "verify", path(&unpacked)])).contains("every hash matches"));
    assert_eq!(clip_score(&unpacked), clip_score(&bundle));
}

#[test]
fn a_damaged_archive_is_refused_and_leaves_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("tiny.tar");
    pack(&data("tiny_bundle"), &archive);
    flip_byte(&archive, offset_of(&archive, "head.safetensors") + 20);

    let verify = vsrqa(&["bundle", "verify", path(&archive)]);
    assert_eq!(verify.status.code(), Some(1));
    let message = stderr(&verify);
    assert!(message.contains("head.safetensors: SHA-256 is ") && message.contains("SHA256SUMS says"), "{message}");

    let target = temp.path().join("out");
    let unpack = vsrqa(&["bundle", "unpack", path(&archive), path(&target)]);
    assert_eq!(unpack.status.code(), Some(1));
    assert!(stderr(&unpack).contains("head.safetensors: SHA-256 is "), "{}", stderr(&unpack));
    assert!(!target.exists());
    assert_eq!(small_filesystem::temporaries(temp.path()), Vec::<String>::new());

    // Consistent hashes, but a network the manifest names is missing: rebuilt without it.
    let clean = temp.path().join("clean.tar");
    pack(&data("tiny_bundle"), &clean);
    let short = temp.path().join("short.tar");
    let mut builder = tar::Builder::new(fs::File::create(&short).unwrap());
    let mut tar = tar::Archive::new(fs::File::open(&clean).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if name.ends_with("/slowfast.onnx") {
            continue;
        }
        if name.ends_with("/SHA256SUMS") {
            let text = String::from_utf8(bytes).unwrap();
            bytes = text
                .lines()
                .filter(|l| !l.ends_with("  slowfast.onnx"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                .into_bytes();
        }
        let mut header = entry.header().clone();
        header.set_size(bytes.len() as u64);
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).unwrap();
    }
    builder.finish().unwrap();
    drop(builder);
    let verify = vsrqa(&["bundle", "verify", path(&short)]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        stderr(&verify).contains("the manifest names slowfast.onnx, which the archive does not hold"),
        "{}",
        stderr(&verify)
    );

    // Not an archive at all.
    let manifest = data("tiny_bundle/vsrqa.json");
    let verify = vsrqa(&["bundle", "verify", path(&manifest)]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(stderr(&verify).contains("vsrqa.json: "), "{}", stderr(&verify));
}

#[test]
fn pack_checks_the_manifest_hashes_and_never_overwrites() {
    let temp = tempfile::tempdir().unwrap();
    let bundle = tiny_copy(temp.path());
    let archive = temp.path().join("tiny.tar");
    pack(&bundle, &archive);
    let again = vsrqa(&["bundle", "pack", path(&bundle), "-o", path(&archive)]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("exists"), "{}", stderr(&again));
    let inside = vsrqa(&["bundle", "pack", path(&bundle), "-o", path(&bundle.join("x.tar"))]);
    assert_eq!(inside.status.code(), Some(1));
    assert!(stderr(&inside).contains("inside the bundle it packs"), "{}", stderr(&inside));

    // A network whose bytes no longer match the manifest's sha256.
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(bundle.join("vsrqa.json")).unwrap()).unwrap();
    let hashed = manifest["branches"].as_array().unwrap().iter().find(|b| b["sha256"].is_string());
    let network = hashed.expect("the tiny bundle records a network's sha256")["network"].as_str().unwrap();
    flip_byte(&bundle.join(network), 100);
    let damaged = vsrqa(&["bundle", "pack", path(&bundle), "-o", path(&temp.path().join("damaged.tar"))]);
    assert_eq!(damaged.status.code(), Some(1));
    assert!(stderr(&damaged).contains("the manifest says"), "{}", stderr(&damaged));
    assert!(!temp.path().join("damaged.tar").exists());
    assert_eq!(small_filesystem::temporaries(temp.path()), Vec::<String>::new());
}

#[test]
fn verify_of_a_directory_checks_every_file_sha256sums_lists() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("tiny.tar");
    pack(&data("tiny_bundle"), &archive);
    let unpacked = temp.path().join("unpacked");
    ok(&vsrqa(&["bundle", "unpack", path(&archive), path(&unpacked)]));
    // The head's weights have no hash in the manifest; SHA256SUMS has one. The last byte is a
    // weight's, so the damaged file still loads: only the hash can tell.
    let head = unpacked.join("head.safetensors");
    flip_byte(&head, fs::metadata(&head).unwrap().len() - 1);
    ok(&vsrqa(&["info", "-m", path(&unpacked)]));
    let verify = vsrqa(&["bundle", "verify", path(&unpacked)]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(stderr(&verify).contains("head.safetensors: SHA-256 is"), "{}", stderr(&verify));

    // A bundle that was never packed: the manifest's hashes only, and it says so.
    let said = ok(&vsrqa(&["bundle", "verify", path(&data("tiny_bundle"))]));
    assert!(said.contains("note: no SHA256SUMS"), "{said}");
}

#[test]
fn unpack_refuses_a_used_target_escaping_entries_and_links() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("tiny.tar");
    pack(&data("tiny_bundle"), &archive);
    let used = temp.path().join("used");
    fs::create_dir(&used).unwrap();
    fs::write(used.join("keep.txt"), "mine").unwrap();
    let refused = vsrqa(&["bundle", "unpack", path(&archive), path(&used)]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("not an empty directory"), "{}", stderr(&refused));
    assert_eq!(fs::read_to_string(used.join("keep.txt")).unwrap(), "mine");

    // Hand-made archives: an entry that climbs out, and a symlink.
    let hostile = |name: &str, build: &dyn Fn(&mut tar::Builder<fs::File>)| {
        let file = temp.path().join(name);
        let mut builder = tar::Builder::new(fs::File::create(&file).unwrap());
        build(&mut builder);
        builder.finish().unwrap();
        let target = temp.path().join(format!("{name}.out"));
        let output = vsrqa(&["bundle", "unpack", path(&file), path(&target)]);
        assert_eq!(output.status.code(), Some(1), "{name}");
        assert!(!target.exists(), "{name}");
        stderr(&output)
    };
    let climbing = hostile("climbing.tar", &|builder| {
        let mut header = tar::Header::new_gnu();
        header.set_size(4);
        // set_path refuses "..", so the name goes into the header's bytes directly.
        header.as_old_mut().name[..14].copy_from_slice(b"b/../../escape");
        header.set_cksum();
        builder.append(&header, &b"evil"[..]).unwrap();
    });
    assert!(climbing.contains("not a path inside"), "{climbing}");
    assert!(!temp.path().join("escape").exists());
    let linking = hostile("link.tar", &|builder| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder.append_link(&mut header, "b/vsrqa.json", "/etc/passwd").unwrap();
    });
    assert!(linking.contains("Symlink entry"), "{linking}");
}

/// A real full disk (a small tmpfs): the archive does not fit, which is said before anything is
/// written, with both numbers, and nothing is left behind.
#[test]
fn unpack_onto_a_disk_too_small_says_so_before_writing() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("tiny.tar");
    pack(&data("tiny_bundle"), &archive);
    let size = fs::metadata(&archive).unwrap().len();
    let (mount_point, out) = (temp.path().join("small"), temp.path().join("out"));
    fs::create_dir_all(&mount_point).unwrap();
    fs::create_dir_all(&out).unwrap();
    let script = r#"
        "$VSRQA" bundle unpack "$ARCHIVE" "$FS/model" 2> "$OUT/err"; echo $? > "$OUT/rc"
        ls -A "$FS" > "$OUT/left"
    "#;
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_vsrqa"));
    let vars = [("VSRQA", binary.as_path()), ("ARCHIVE", archive.as_path()), ("OUT", out.as_path())];
    let kib = (size / 1024 / 2).max(64);
    let output = small_filesystem::run_script(&mount_point, kib, script, &vars);
    assert!(output.status.success(), "{}", stderr(&output));
    let read = |name: &str| fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(read("rc").trim(), "1", "{}", read("err"));
    assert!(
        read("err").contains("not enough disk space") && read("err").contains(&format!("({size} bytes)")),
        "{}",
        read("err")
    );
    assert_eq!(read("left").trim(), "");
}
