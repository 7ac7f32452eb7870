//! The error type of `deltacell-analysis`: every variant that concerns a file or a cell names it.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while analysing a movie or reading and writing its results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the data layer (reading images, writing files).
    #[error(transparent)]
    Data(#[from] deltacell_data::error::Error),

    /// A lineage that contradicts itself (a mother born after her daughter, a cell id used
    /// twice, a division outside the mother's life).
    #[error("inconsistent lineage: {0}")]
    Lineage(#[from] crate::lineage::LineageError),
}
