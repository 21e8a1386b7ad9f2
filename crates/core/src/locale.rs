//! The message language. A leaf: renderers, adapters and configuration all name it.

/// Message language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Ja,
    /// Korean (the iPF bot's team).
    Ko,
}

impl Language {
    /// The language of a code (`"en"`, `"ja"`, `"ko"`; `""` is English).
    pub fn parse(code: &str) -> Option<Language> {
        match code.trim() {
            "en" | "" => Some(Language::En),
            "ja" => Some(Language::Ja),
            "ko" => Some(Language::Ko),
            _ => None,
        }
    }

    /// The code a configuration names it by (`"en"`, `"ja"`).
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ja => "ja",
            Language::Ko => "ko",
        }
    }
}
