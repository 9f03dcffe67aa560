//! `vsrqa bundle pack | unpack | verify`: a bundle as one archive that travels without Python
//! (to an appliance, an air-gapped machine), checked file by file on arrival.
//!
//! The archive is a plain tar (any `tar` opens it), written deterministically, so the same bundle
//! always packs to the same bytes. Its entries sit under one top-level folder and end with
//! `SHA256SUMS`: every other entry's SHA-256 in `sha256sum`'s format. Unpacking keeps that file,
//! so `verify` can check an unpacked directory as thoroughly as the archive.

mod archive;
mod disk;
mod hashing;
mod sums;

use std::path::PathBuf;

use super::Failure;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Pack a bundle directory into one archive (tar), after checking the manifest's hashes; the
    /// archive lists every file's SHA-256.
    Pack {
        /// The bundle directory (holding vsrqa.json).
        dir: PathBuf,
        /// The archive to write (e.g. model.vsrqa.tar); refused if it exists.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: PathBuf,
    },
    /// Unpack an archive into a new directory; every file's hash is checked and the bundle
    /// validated before the directory appears.
    Unpack {
        /// The archive `vsrqa bundle pack` wrote.
        file: PathBuf,
        /// The bundle directory to create (it must not exist, or be empty).
        dir: PathBuf,
    },
    /// Check an archive or an unpacked bundle directory: every file against SHA256SUMS, the
    /// networks against the manifest's hashes, and the manifest itself.
    Verify {
        /// An archive or a bundle directory.
        path: PathBuf,
    },
}

pub fn run(args: &Args) -> Result<(), Failure> {
    match &args.action {
        Action::Pack { dir, output } => {
            let packed = archive::pack(dir, output)?;
            println!(
                "packed {} files ({}) into {}\nsha256 of the archive: {}",
                packed.files,
                disk::describe_bytes(packed.bytes),
                output.display(),
                packed.archive_sha256
            );
        }
        Action::Unpack { file, dir } => {
            let unpacked = archive::unpack(file, dir)?;
            println!(
                "unpacked {} files ({}) into {}: every hash matches, the bundle loads",
                unpacked.files,
                disk::describe_bytes(unpacked.bytes),
                dir.display()
            );
        }
        Action::Verify { path } => {
            let checked = if path.is_dir() { archive::verify_dir(path)? } else { archive::verify_file(path)? };
            println!("{}: {} files checked, every hash matches", path.display(), checked.files);
            for note in &checked.notes {
                println!("note: {note}");
            }
        }
    }
    Ok(())
}
