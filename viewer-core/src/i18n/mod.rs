//! Every string the viewer shows, in English, Russian and Uzbek (Latin
//! script).
//!
//! Tables of rows hold each key with its three texts, so a missing
//! translation is a failing test rather than a blank label: [`TABLE`] for
//! the study list and the viewer, [`WORKFLOW`] for the reading workflow
//! (sign-in, worklist, reports, referrals, audit). A key is in one table
//! only. Texts may hold
//! named placeholders, `{n}`, filled by [`t_with`]; every language of a key
//! has the same placeholders. Uzbek is written in the official Latin
//! alphabet: oʻ and gʻ with U+02BB (ʻ), the tutuq belgisi with U+02BC (ʼ),
//! never an ASCII apostrophe.

mod table;
mod workflow;

pub use table::TABLE;
pub use workflow::WORKFLOW;

/// Every table, searched in order.
pub static TABLES: &[&[Entry]] = &[TABLE, WORKFLOW];

/// The interface languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Ru,
    /// Uzbek, Latin script.
    Uz,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ru, Lang::Uz];

    /// The language of a BCP 47 tag (`"ru"`, `"ru-RU"`, `"uz-Latn-UZ"`,
    /// case-insensitive), by its primary subtag; `None` for any other.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            "uz" => Some(Lang::Uz),
            _ => None,
        }
    }

    /// The first supported language among the browser's preferences
    /// (`navigator.languages`), else English.
    pub fn negotiate<'a>(preferences: impl IntoIterator<Item = &'a str>) -> Lang {
        preferences
            .into_iter()
            .find_map(Lang::from_tag)
            .unwrap_or_default()
    }

    /// The primary language subtag, for `<html lang>` and storage.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Uz => "uz",
        }
    }
}

/// One row of the table: `(key, English, Russian, Uzbek)`.
pub type Entry = (&'static str, &'static str, &'static str, &'static str);

fn text_of(entry: &Entry, lang: Lang) -> &'static str {
    match lang {
        Lang::En => entry.1,
        Lang::Ru => entry.2,
        Lang::Uz => entry.3,
    }
}

/// The text of `key` in `lang`; the English text if that one is empty;
/// the key itself if the table does not have it (visible, so a missing
/// key is noticed rather than shown as nothing).
pub fn t(lang: Lang, key: &str) -> &str {
    lookup(TABLES, lang, key)
}

/// Every row of every table.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    TABLES.iter().flat_map(|table| table.iter())
}

fn lookup<'k>(tables: &[&'static [Entry]], lang: Lang, key: &'k str) -> &'k str {
    match tables.iter().flat_map(|t| t.iter()).find(|e| e.0 == key) {
        Some(entry) => {
            let text = text_of(entry, lang);
            if text.is_empty() { entry.1 } else { text }
        }
        None => key,
    }
}

/// [`t`] with its placeholders filled: each `{name}` is replaced by the
/// value paired with `name`. Placeholders without a value stay as written.
pub fn t_with(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut out = t(lang, key).to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The placeholder names in a text, in order of appearance.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

#[cfg(test)]
mod tests;
