//! The message language. A leaf: renderers, adapters and configuration all name it.

/// Message language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Ja,
}
