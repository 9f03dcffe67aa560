//! What the plugin exports: GStreamer's entry points only. Not the C API, which is libvsrqa's
//! (crates/vsrqa-capi), and not libvsrqa's SONAME: a process that loads the plugin beside a
//! program linked to libvsrqa (a player) must have one definition of each `vsrqa_*` function, and
//! its lookup of libvsrqa.so.1 must not find the plugin.

mod support;

use std::process::Command;

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e} (binutils: scripts/install-deps.sh)"));
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_plugin_exports_its_entry_points_only() {
    let plugin = support::built_plugin();
    let listing = stdout_of(Command::new("nm").args(["-D", "--defined-only"]).arg(&plugin));
    let exports: Vec<&str> = listing
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Version nodes (kind A) are not symbols.
            (fields.len() >= 2 && fields[fields.len() - 2] != "A").then(|| fields[fields.len() - 1])
        })
        .collect();
    assert!(exports.contains(&"gst_plugin_vsrqa_get_desc"), "{listing}");
    let others: Vec<&&str> = exports.iter().filter(|name| !name.starts_with("gst_plugin_vsrqa_")).collect();
    assert!(others.is_empty(), "{} exports more than its entry points: {others:?}", plugin.display());
}

#[test]
fn the_plugin_does_not_take_the_c_librarys_soname() {
    let plugin = support::built_plugin();
    let dynamic = stdout_of(Command::new("readelf").arg("-d").arg(&plugin));
    assert!(!dynamic.contains("[libvsrqa.so"), "{} has libvsrqa's SONAME:\n{dynamic}", plugin.display());
}
