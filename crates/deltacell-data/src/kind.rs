//! [`Kind`]: which of DeLTA's three jobs (cell segmentation, tracking, chamber segmentation) a
//! training set, a dataset, a model or a command is about. One word for all of them.
//!
//! ```
//! use deltacell_data::Kind;
//! let k: Kind = "tracking".parse()?;
//! assert_eq!(k, Kind::Track);
//! assert_eq!(k.to_string(), "track");
//! assert_eq!(k.input_channels(), 4);
//! assert!("movie".parse::<Kind>().is_err());
//! # Ok::<(), deltacell_data::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Which of DeLTA's three training sets, datasets and U-Nets.
///
/// Written `seg`, `track`, `rois` in files and on the command line; [`FromStr`] and serde also
/// accept `segmentation`, `tracking`, `roi` and `chambers` (any letter case for [`FromStr`]).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Cell segmentation: `img/`, `seg/`, optional `wei/`; `unet_seg`, 1 input channel.
    #[serde(alias = "segmentation")]
    Seg,
    /// Tracking: `previmg/`, `seg/`, `img/`, `segall/`, `mot_dau/`, optional `wei/`;
    /// `unet_track`, 4 input channels (image, seed cell at t−1, previous image, all cells at t).
    #[serde(alias = "tracking")]
    Track,
    /// Mother-machine chambers (ROIs): `img/`, `seg/` with chamber masks; `unet_rois`, 1 input
    /// channel.
    #[serde(alias = "roi", alias = "chambers")]
    Rois,
}

impl Kind {
    /// The three kinds, in DeLTA's order.
    pub const ALL: [Kind; 3] = [Kind::Seg, Kind::Track, Kind::Rois];

    /// The short name used on the command line and in files: `seg`, `track`, `rois`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Seg => "seg",
            Kind::Track => "track",
            Kind::Rois => "rois",
        }
    }

    /// The long name used in reports: `segmentation`, `tracking`, `rois`.
    pub fn long_name(self) -> &'static str {
        match self {
            Kind::Seg => "segmentation",
            Kind::Track => "tracking",
            Kind::Rois => "rois",
        }
    }

    /// Input channels of the network and of a sample's `x`: 4 for tracking, 1 otherwise.
    pub fn input_channels(self) -> usize {
        match self {
            Kind::Track => 4,
            Kind::Seg | Kind::Rois => 1,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = Error;

    /// Accepts `seg`/`segmentation`, `track`/`tracking`, `rois`/`roi`/`chambers` (any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "seg" | "segmentation" => Ok(Kind::Seg),
            "track" | "tracking" => Ok(Kind::Track),
            "rois" | "roi" | "chambers" => Ok(Kind::Rois),
            _ => Err(Error::UnknownName {
                what: "kind",
                name: s.to_string(),
                choices: vec!["seg", "track", "rois"],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for k in Kind::ALL {
            assert_eq!(k.name().parse::<Kind>().unwrap(), k);
            assert_eq!(k.long_name().parse::<Kind>().unwrap(), k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.name()));
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), k);
            let long = format!("\"{}\"", k.long_name());
            assert_eq!(serde_json::from_str::<Kind>(&long).unwrap(), k);
        }
        assert_eq!("Track".parse::<Kind>().unwrap(), Kind::Track);
        assert_eq!("chambers".parse::<Kind>().unwrap(), Kind::Rois);
        assert!("movie".parse::<Kind>().is_err());
    }
}
