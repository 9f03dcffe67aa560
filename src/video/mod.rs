//! Reading frames from files for the CLI: YUV4MPEG2 (`.y4m`) and headerless raw video.
//! (Decoding containers through FFmpeg is a separate module, to come.)

pub mod raw;
pub mod y4m;
