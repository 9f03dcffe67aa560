//! Reading frames from files: YUV4MPEG2 (`.y4m`) and headerless raw video. Containers and codecs
//! are decoded by the `vsrqa-ffmpeg` crate (crates/vsrqa-ffmpeg), kept out of this library so that
//! libvsrqa never links FFmpeg.

mod error;
pub mod raw;
pub mod y4m;

pub use error::{Error, Result};
