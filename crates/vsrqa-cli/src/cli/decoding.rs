//! The decoding options, one set for every command that decodes video (`score`, `features`,
//! `eval`, `compare`, `bench`): how frames become RGB, and which colour tags to believe.

use vsrqa::frame::{ColorConversion, ColorMatrix, ColorRange};
use vsrqa_train::Decoding;

use super::Failure;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct DecodingArgs {
    /// YUV->RGB conversion: reference (the frames the reference's OpenCV reader gives, which the
    /// published weights were trained on: BT.601 whatever the tags say) or exact (each frame's
    /// matrix and range, in float). Default: the model's (its manifest's color_conversion,
    /// reference when absent).
    #[arg(long, value_name = "reference|exact")]
    pub(super) color_conversion: Option<String>,
    /// YUV matrix of the exact conversion: bt601, bt709 or bt2020. Default: each frame's tag for
    /// FFmpeg-decoded files (untagged and unimplemented matrices are BT.601), BT.601 otherwise.
    /// The reference conversion is BT.601 whatever the tags say, as OpenCV's reader was.
    #[arg(long, value_name = "bt601|bt709|bt2020")]
    pub(super) color_matrix: Option<String>,
    /// YUV range: limited or full (FFmpeg's tv, pc). Default: the file's tag (Y4M
    /// XCOLORRANGE=FULL, FFmpeg's color_range or a yuvj format), limited when untagged.
    #[arg(long, value_name = "limited|full|tv|pc")]
    pub(super) color_range: Option<String>,
}

impl DecodingArgs {
    /// The conversion asked for; `None`: the model's.
    pub fn conversion(&self) -> Result<Option<ColorConversion>, Failure> {
        self.color_conversion
            .as_deref()
            .map(|text| {
                ColorConversion::parse(text)
                    .ok_or_else(|| Failure::usage(format!("--color-conversion \"{text}\": use reference or exact")))
            })
            .transpose()
    }

    /// How files are decoded with an engine of conversion `conversion` (the one asked for, or
    /// the model's): a usage error for an unknown name, or a matrix under the reference
    /// conversion, which ignores it.
    pub fn decoding(&self, conversion: ColorConversion) -> Result<Decoding, Failure> {
        let (matrix, range) = self.tags()?;
        check_matrix_applies(matrix, conversion)?;
        Ok(Decoding { conversion, matrix, range })
    }

    /// Every name is known (usage errors, checked before any file is read; whether a matrix
    /// applies waits for the model's conversion).
    pub fn check_names(&self) -> Result<(), Failure> {
        self.conversion()?;
        self.tags().map(|_| ())
    }

    /// The matrix and range given over the files' tags.
    fn tags(&self) -> Result<(Option<ColorMatrix>, Option<ColorRange>), Failure> {
        let matrix = self.color_matrix.as_deref().map(parse_matrix).transpose()?;
        let range = self.color_range.as_deref().map(parse_range).transpose()?;
        Ok((matrix, range))
    }
}

pub fn parse_matrix(text: &str) -> Result<ColorMatrix, Failure> {
    ColorMatrix::parse(text)
        .ok_or_else(|| Failure::usage(format!("--color-matrix \"{text}\": use {}", ColorMatrix::NAMES)))
}

pub fn parse_range(text: &str) -> Result<ColorRange, Failure> {
    ColorRange::parse(text)
        .ok_or_else(|| Failure::usage(format!("--color-range \"{text}\": use {}", ColorRange::NAMES)))
}

/// A matrix is the exact conversion's setting: with the reference conversion it is a mistake.
pub fn check_matrix_applies(matrix: Option<ColorMatrix>, conversion: ColorConversion) -> Result<(), Failure> {
    if matrix.is_some() && conversion == ColorConversion::Reference {
        return Err(Failure::usage(
            "--color-matrix sets the exact conversion's matrix; the reference conversion is BT.601 (add --color-conversion exact)",
        ));
    }
    Ok(())
}
