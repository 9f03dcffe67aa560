//! Running pipelines with the plugin as built: `gst-launch-1.0 -m` and `gst-inspect-1.0` in a
//! child process (GST_PLUGIN_PATH at a copy of libgstvsrqa.so, a registry of the test's own), and
//! reading the element's messages from what gst-launch prints.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tiny_bundle() -> String {
    vsrqa_testkit::tiny_bundle().display().to_string()
}

/// The cdylib cargo built beside this test (target/<profile>/ or its deps/).
pub fn built_plugin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    [deps.join("libgstvsrqa.so"), deps.join("../libgstvsrqa.so")]
        .into_iter()
        .find(|path| path.exists())
        .expect("libgstvsrqa.so is built with the tests (crate-type cdylib)")
}

/// A directory holding only the plugin, and a registry file for it.
pub struct Plugin {
    dir: tempfile::TempDir,
}

impl Plugin {
    pub fn new() -> Plugin {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(built_plugin(), dir.path().join("libgstvsrqa.so")).unwrap();
        Plugin { dir }
    }

    fn command(&self, program: &str) -> Command {
        // A hang fails the test instead of stalling the suite.
        let mut command = Command::new("timeout");
        command
            .arg("300")
            .arg(program)
            .env("GST_PLUGIN_PATH", self.dir.path())
            .env("GST_REGISTRY", self.dir.path().join("registry.bin"))
            .env_remove("GST_DEBUG")
            .current_dir(repo());
        command
    }

    pub fn inspect(&self) -> Run {
        Run::of(self.command("gst-inspect-1.0").arg("vsrqa"))
    }

    /// `gst-launch-1.0 -m` with the pipeline given as one string (split on spaces).
    pub fn launch(&self, pipeline: &str) -> Run {
        Run::of(self.command("gst-launch-1.0").arg("-m").args(pipeline.split_whitespace()))
    }
}

/// A finished gst-launch run.
pub struct Run {
    pub success: bool,
    pub output: String,
}

impl Run {
    fn of(command: &mut Command) -> Run {
        let output = command.output().expect("GStreamer's tools run (scripts/install-deps.sh)");
        let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        assert!(!text.contains("panicked"), "a panic:\n{text}");
        Run { success: output.status.success(), output: text }
    }

    /// The element messages named `name`, in the order posted.
    pub fn messages(&self, name: &str) -> Vec<gst::Structure> {
        gst::init().unwrap();
        let prefix = format!("(element): {name}, ");
        self.output
            .lines()
            .filter_map(|line| line.find(&prefix).map(|at| &line[at + "(element): ".len()..]))
            .map(|text| gst::Structure::from_str(text.trim_end_matches(';')).expect("a structure"))
            .collect()
    }

    pub fn frames(&self) -> Vec<gst::Structure> {
        self.messages("vsrqa-frame")
    }

    pub fn clips(&self) -> Vec<gst::Structure> {
        self.messages("vsrqa-clip")
    }

    /// The one clip message of a run that must have exactly one, with the run's output on failure.
    pub fn clip(&self) -> gst::Structure {
        let clips = self.clips();
        assert!(self.success, "the pipeline failed:\n{}", self.output);
        assert_eq!(clips.len(), 1, "one clip message:\n{}", self.output);
        clips.into_iter().next().unwrap()
    }

    /// Where a line containing `text` is in the output.
    pub fn position(&self, text: &str) -> Option<usize> {
        self.output.find(text)
    }
}

pub fn f64_field(structure: &gst::Structure, name: &str) -> f64 {
    structure.get::<f64>(name).unwrap_or_else(|e| panic!("{name} of {structure}: {e}"))
}

pub fn u64_field(structure: &gst::Structure, name: &str) -> u64 {
    structure.get::<u64>(name).unwrap_or_else(|e| panic!("{name} of {structure}: {e}"))
}

pub fn u32_field(structure: &gst::Structure, name: &str) -> u32 {
    structure.get::<u32>(name).unwrap_or_else(|e| panic!("{name} of {structure}: {e}"))
}

pub fn str_field<'a>(structure: &'a gst::Structure, name: &str) -> &'a str {
    structure.get::<&str>(name).unwrap_or_else(|e| panic!("{name} of {structure}: {e}"))
}

/// Makes a video with the ffmpeg tool (lavfi testsrc2): `codec_args` after the input.
pub fn make_video(dir: &Path, name: &str, seconds: u32, codec_args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=160x120:rate=30:duration={seconds}"))
        .args(codec_args)
        .arg(&path)
        .status()
        .expect("ffmpeg runs (scripts/install-deps.sh)");
    assert!(status.success(), "ffmpeg made {name}");
    path
}
