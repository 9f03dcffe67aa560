//! Where a bundle's weights came from (the manifest's `"provenance"`, docs/bundle.md). A network
//! with random weights still produces scores; nothing in the scores shows it. The manifest records
//! each part's origin so that `vsrqa info` can show it and the engine can warn on every run.
//!
//! Provenance never changes a score, so the bank fingerprint and the engine caches ignore it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Manifest;

/// The manifest's `"provenance"` section: one origin per branch (by name) and one for the head.
/// A part without an entry has unrecorded provenance.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    #[serde(default)]
    pub branches: BTreeMap<String, Origin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<Origin>,
    /// An ensemble's members with files of their own: where each one's own networks and head
    /// weights came from (one checkpoint holds both, as RQ-VQA's releases do).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, Origin>,
}

/// Where one part's weights came from. A flat record rather than an enum so that a missing or
/// misplaced field gets a message naming the part (serde's would not say which).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub source: Source,
    /// `checkpoint`: the checkpoint's file (or folder) name, without its directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `checkpoint`: hex SHA-256 of the checkpoint (docs/bundle.md says how a folder is hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `trained`: the fingerprint of the feature bank the weights were trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_videos: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_videos: Option<usize>,
    /// `trained`: the validation metrics of the kept epoch, by name (`srcc`, `plcc`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub validation_metrics: BTreeMap<String, f64>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// Randomly initialized: the scores say nothing about quality.
    Random,
    /// Converted from a published or trained checkpoint.
    Checkpoint,
    /// Trained on a feature bank (`vsrqa train`, tools/train/finetune_spatial.py).
    Trained,
}

impl Origin {
    pub fn random() -> Origin {
        Origin {
            source: Source::Random,
            file: None,
            sha256: None,
            bank_fingerprint: None,
            train_videos: None,
            validation_videos: None,
            validation_metrics: BTreeMap::new(),
        }
    }

    /// Weights trained on the bank with `bank_fingerprint`.
    pub fn trained(bank_fingerprint: &str) -> Origin {
        Origin { source: Source::Trained, bank_fingerprint: Some(bank_fingerprint.to_owned()), ..Origin::random() }
    }

    /// One line for people, e.g. `checkpoint RQ-VQA.pth (sha256 7fefb3b8a5a7)`.
    pub fn describe(&self) -> String {
        let short = |hex: &Option<String>| hex.as_deref().map(|h| h.get(..12).unwrap_or(h)).unwrap_or("?").to_owned();
        match self.source {
            Source::Random => "random".into(),
            Source::Checkpoint => {
                format!("checkpoint {} (sha256 {})", self.file.as_deref().unwrap_or("?"), short(&self.sha256))
            }
            Source::Trained => {
                let mut text = format!("trained on feature bank {}", short(&self.bank_fingerprint));
                let mut details = Vec::new();
                if let (Some(train), Some(validation)) = (self.train_videos, self.validation_videos) {
                    details.push(format!("{train} training and {validation} validation videos"));
                }
                if !self.validation_metrics.is_empty() {
                    let metrics: Vec<String> =
                        self.validation_metrics.iter().map(|(name, value)| format!("{name} {value:.4}")).collect();
                    details.push(format!("validation {}", metrics.join(", ")));
                }
                if !details.is_empty() {
                    text.push_str(&format!(" ({})", details.join("; ")));
                }
                text
            }
        }
    }

    /// Checks that the fields are the ones `source` takes, and well formed.
    fn validate(&self) -> Result<(), String> {
        let source = serde_json::to_string(&self.source).unwrap_or_default();
        let present = [
            ("file", self.file.is_some()),
            ("sha256", self.sha256.is_some()),
            ("bank_fingerprint", self.bank_fingerprint.is_some()),
            ("train_videos", self.train_videos.is_some()),
            ("validation_videos", self.validation_videos.is_some()),
            ("validation_metrics", !self.validation_metrics.is_empty()),
        ];
        let (required, allowed): (&[&str], &[&str]) = match self.source {
            Source::Random => (&[], &[]),
            Source::Checkpoint => (&["file", "sha256"], &["file", "sha256"]),
            Source::Trained => (
                &["bank_fingerprint"],
                &["bank_fingerprint", "train_videos", "validation_videos", "validation_metrics"],
            ),
        };
        for (field, is_present) in present {
            if required.contains(&field) && !is_present {
                return Err(format!("source {source} needs \"{field}\""));
            }
            if is_present && !allowed.contains(&field) {
                return Err(format!("source {source} takes no \"{field}\""));
            }
        }
        if self.file.as_deref().is_some_and(|f| f.trim().is_empty()) {
            return Err("\"file\" is empty".into());
        }
        for (field, hex) in [("sha256", &self.sha256), ("bank_fingerprint", &self.bank_fingerprint)] {
            if let Some(hex) = hex {
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("\"{field}\" is \"{hex}\": expected 64 hex digits (a SHA-256)"));
                }
            }
        }
        Ok(())
    }
}

impl Provenance {
    /// Checks every origin, that each branch entry names a branch of `branch_names` and each
    /// member entry a member of `member_names`.
    pub(crate) fn validate<'a>(
        &self,
        branch_names: impl IntoIterator<Item = &'a str>,
        member_names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), String> {
        let names: Vec<&str> = branch_names.into_iter().collect();
        for (name, origin) in &self.branches {
            if !names.contains(&name.as_str()) {
                return Err(format!("provenance.branches.{name}: there is no branch named \"{name}\""));
            }
            origin.validate().map_err(|e| format!("provenance.branches.{name}: {e}"))?;
        }
        if let Some(head) = &self.head {
            head.validate().map_err(|e| format!("provenance.head: {e}"))?;
        }
        let members: Vec<&str> = member_names.into_iter().collect();
        for (name, origin) in &self.members {
            if !members.contains(&name.as_str()) {
                return Err(format!("provenance.members.{name}: there is no member named \"{name}\""));
            }
            origin.validate().map_err(|e| format!("provenance.members.{name}: {e}"))?;
        }
        Ok(())
    }
}

impl Manifest {
    /// The recorded origin of branch `name`'s network, if any.
    pub fn branch_origin(&self, name: &str) -> Option<&Origin> {
        self.provenance.as_ref().and_then(|p| p.branches.get(name))
    }

    /// The recorded origin of the head's weights, if any.
    pub fn head_origin(&self) -> Option<&Origin> {
        self.provenance.as_ref().and_then(|p| p.head.as_ref())
    }

    /// The warning for a bundle whose parts have random weights or do not say where their
    /// weights came from, naming every such part; `None` when every part records trained or
    /// checkpoint weights.
    pub fn provenance_warning(&self) -> Option<String> {
        // A member that only uses the bundle's files is covered by their origins.
        let own_files = self.members.iter().filter(|m| !m.networks.is_empty() || m.head_weights.is_some());
        warning(
            &self.name,
            self.branches.iter().map(|b| b.name.as_str()),
            own_files.map(|m| m.name.as_str()),
            self.provenance.as_ref(),
        )
    }
}

/// The warning for a bundle whose parts have random weights or do not say where their weights
/// came from, naming every such part; `None` when every part records trained or checkpoint weights.
/// `branch_names` in manifest order; `members`: the ensemble members with files of their own;
/// `provenance` is `None` for a manifest without the section.
fn warning<'a>(
    bundle_name: &str,
    branch_names: impl IntoIterator<Item = &'a str>,
    members: impl IntoIterator<Item = &'a str>,
    provenance: Option<&Provenance>,
) -> Option<String> {
    let empty = Provenance::default();
    let provenance = provenance.unwrap_or(&empty);
    let (mut random, mut unrecorded) = (Parts::default(), Parts::default());
    let mut sort = |origin: Option<&Origin>, part: Part<'a>| match origin.map(|o| o.source) {
        Some(Source::Random) => random.push(part),
        None => unrecorded.push(part),
        Some(Source::Checkpoint | Source::Trained) => {}
    };
    for name in branch_names {
        sort(provenance.branches.get(name), Part::Network(name));
    }
    sort(provenance.head.as_ref(), Part::Head);
    for name in members {
        sort(provenance.members.get(name), Part::Member(name));
    }

    let mut clauses = Vec::new();
    if !random.is_empty() {
        clauses.push(format!("{} random weights", random.subject(("has", "have"))));
    }
    if !unrecorded.is_empty() {
        let subject = unrecorded.subject(("does", "do"));
        let whose = if unrecorded.count() == 1 { "its" } else { "their" };
        clauses.push(format!("{subject} not record where {whose} weights came from"));
    }
    if clauses.is_empty() {
        return None;
    }
    let consequence = if random.is_empty() {
        "check that they are trained weights before trusting its scores"
    } else {
        "its scores say nothing about quality"
    };
    let bundle = if bundle_name.is_empty() { "the bundle".to_owned() } else { format!("bundle '{bundle_name}'") };
    Some(format!("{bundle}: {}: {consequence}", clauses.join(", and ")))
}

#[derive(Clone, Copy)]
enum Part<'a> {
    Network(&'a str),
    Head,
    Member(&'a str),
}

/// Parts named together in one clause: "the spatial and slowfast networks and the head".
#[derive(Default)]
struct Parts<'a> {
    networks: Vec<&'a str>,
    head: bool,
    members: Vec<&'a str>,
}

impl<'a> Parts<'a> {
    fn push(&mut self, part: Part<'a>) {
        match part {
            Part::Network(name) => self.networks.push(name),
            Part::Head => self.head = true,
            Part::Member(name) => self.members.push(name),
        }
    }

    fn count(&self) -> usize {
        self.networks.len() + usize::from(self.head) + self.members.len()
    }

    fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The parts and the verb agreeing with them (`(singular, plural)`).
    fn subject(&self, verb: (&str, &str)) -> String {
        let networks = match self.networks.as_slice() {
            [] => None,
            [one] => Some(format!("the {one} network")),
            [first @ .., last] => Some(format!("the {} and {last} networks", first.join(", "))),
        };
        let head = self.head.then(|| "the head".to_owned());
        let members = match self.members.as_slice() {
            [] => None,
            [one] => Some(format!("member {one}")),
            [first @ .., last] => Some(format!("members {} and {last}", first.join(", "))),
        };
        let named: Vec<String> = networks.into_iter().chain(head).chain(members).collect();
        let verb = if self.count() == 1 { verb.0 } else { verb.1 };
        format!("{} {verb}", named.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Origin {
        Origin {
            source: Source::Checkpoint,
            file: Some("RQ-VQA.pth".into()),
            sha256: Some("ab".repeat(32)),
            ..Origin::random()
        }
    }

    fn provenance(branches: &[(&str, Origin)], head: Option<Origin>) -> Provenance {
        Provenance {
            branches: branches.iter().map(|(n, o)| (n.to_string(), o.clone())).collect(),
            head,
            members: BTreeMap::new(),
        }
    }

    #[test]
    fn the_warning_names_every_random_and_unrecorded_part() {
        let names = ["spatial", "slowfast", "liqe"];
        let all_random = provenance(
            &[("spatial", Origin::random()), ("slowfast", Origin::random()), ("liqe", Origin::random())],
            Some(Origin::random()),
        );
        assert_eq!(
            warning("tiny", names, [], Some(&all_random)).unwrap(),
            "bundle 'tiny': the spatial, slowfast and liqe networks and the head have random weights: \
             its scores say nothing about quality"
        );
        let mixed = provenance(&[("spatial", checkpoint()), ("slowfast", Origin::random())], Some(checkpoint()));
        assert_eq!(
            warning("", names, [], Some(&mixed)).unwrap(),
            "the bundle: the slowfast network has random weights, and the liqe network does not record where its \
             weights came from: its scores say nothing about quality"
        );
        assert_eq!(
            warning("old", ["spatial"], [], None).unwrap(),
            "bundle 'old': the spatial network and the head do not record where their weights came from: \
             check that they are trained weights before trusting its scores"
        );
        let head_only = provenance(&[("spatial", checkpoint())], Some(Origin::random()));
        assert_eq!(
            warning("h", ["spatial"], [], Some(&head_only)).unwrap(),
            "bundle 'h': the head has random weights: its scores say nothing about quality"
        );
    }

    #[test]
    fn the_warning_names_members_with_random_or_unrecorded_files() {
        let mut ensemble = provenance(&[("spatial", checkpoint())], Some(checkpoint()));
        ensemble.members.insert("v1".into(), checkpoint());
        ensemble.members.insert("v2".into(), Origin::random());
        assert_eq!(
            warning("e", ["spatial"], ["v1", "v2", "v3"], Some(&ensemble)).unwrap(),
            "bundle 'e': member v2 has random weights, and member v3 does not record where its weights came \
             from: its scores say nothing about quality"
        );
        ensemble.members.insert("v2".into(), checkpoint());
        ensemble.members.insert("v3".into(), Origin::random());
        ensemble.members.insert("v4".into(), Origin::random());
        assert_eq!(
            warning("e", ["spatial"], ["v1", "v2", "v3", "v4"], Some(&ensemble)).unwrap(),
            "bundle 'e': members v3 and v4 have random weights: its scores say nothing about quality"
        );
        assert_eq!(warning("e", ["spatial"], ["v1", "v2"], Some(&ensemble)), None);
        assert!(ensemble.validate(["spatial"], ["v1", "v2"]).unwrap_err().contains("no member named \"v3\""));
    }

    #[test]
    fn no_warning_when_every_part_is_trained_or_from_a_checkpoint() {
        let full =
            provenance(&[("spatial", checkpoint()), ("liqe", checkpoint())], Some(Origin::trained(&"0".repeat(64))));
        assert_eq!(warning("x", ["spatial", "liqe"], [], Some(&full)), None);
    }

    #[test]
    fn origins_take_exactly_their_fields() {
        assert_eq!(checkpoint().validate(), Ok(()));
        assert_eq!(Origin::trained(&"f".repeat(64)).validate(), Ok(()));
        let no_hash = Origin { sha256: None, ..checkpoint() };
        assert_eq!(no_hash.validate().unwrap_err(), "source \"checkpoint\" needs \"sha256\"");
        let short_hash = Origin { sha256: Some("abc".into()), ..checkpoint() };
        assert!(short_hash.validate().unwrap_err().contains("expected 64 hex digits"));
        let not_hex = Origin { sha256: Some("g".repeat(64)), ..checkpoint() };
        assert!(not_hex.validate().unwrap_err().contains("expected 64 hex digits"));
        let random_with_file = Origin { file: Some("x.pth".into()), ..Origin::random() };
        assert_eq!(random_with_file.validate().unwrap_err(), "source \"random\" takes no \"file\"");
        let trained_with_hash = Origin { sha256: Some("a".repeat(64)), ..Origin::trained(&"b".repeat(64)) };
        assert_eq!(trained_with_hash.validate().unwrap_err(), "source \"trained\" takes no \"sha256\"");
        let empty_file = Origin { file: Some(" ".into()), ..checkpoint() };
        assert_eq!(empty_file.validate().unwrap_err(), "\"file\" is empty");
    }

    #[test]
    fn describe_is_one_line_with_the_short_hashes() {
        assert_eq!(checkpoint().describe(), "checkpoint RQ-VQA.pth (sha256 abababababab)");
        let mut trained = Origin::trained(&"0123456789abcdef".repeat(4));
        trained.train_videos = Some(32);
        trained.validation_videos = Some(8);
        trained.validation_metrics = [("plcc".to_string(), 0.91), ("srcc".to_string(), 0.9)].into();
        assert_eq!(
            trained.describe(),
            "trained on feature bank 0123456789ab (32 training and 8 validation videos; validation plcc 0.9100, \
             srcc 0.9000)"
        );
        assert_eq!(Origin::random().describe(), "random");
    }
}
