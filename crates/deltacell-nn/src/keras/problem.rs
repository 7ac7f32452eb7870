//! The error of the Keras readers' and writers' inner steps.

/// What is wrong inside a Keras or safetensors file, without the file's name (the public
/// errors, [`crate::Error::Weights`] and [`super::ExportError::Weights`], add it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct Problem(pub(super) String);

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Problem(message)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Problem(message.to_string())
    }
}

/// The result of the readers' and writers' inner steps.
pub(super) type Checked<T> = std::result::Result<T, Problem>;
