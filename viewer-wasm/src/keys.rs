//! Keyboard shortcuts whatever the keyboard layout. Radiologists here type
//! Russian and Uzbek with a Cyrillic layout switched on most of the day;
//! there the key labelled I gives `ш`, and a shortcut read from the
//! character alone would be dead. Letters are taken from the physical key
//! (`KeyboardEvent.code`) when the layout gives a letter of another
//! script; everything else (digits, arrows, `?`) from the character.

use std::borrow::Cow;

/// The shortcut a key press means: `key` and `code` as the browser's
/// `KeyboardEvent` reports them.
pub fn shortcut<'a>(key: &'a str, code: &str) -> Cow<'a, str> {
    let mut chars = key.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return Cow::Borrowed(key);
    };
    match code.strip_prefix("Key") {
        Some(letter) if c.is_alphabetic() && !c.is_ascii() && letter.len() == 1 => {
            let letter = if c.is_uppercase() {
                letter.to_ascii_uppercase()
            } else {
                letter.to_ascii_lowercase()
            };
            Cow::Owned(letter)
        }
        _ => Cow::Borrowed(key),
    }
}

#[cfg(test)]
mod tests {
    use super::shortcut;

    #[test]
    fn letters_of_another_script_are_their_physical_keys() {
        // Russian layout: I is ш, C is с, F is а; Shift gives capitals.
        assert_eq!(shortcut("ш", "KeyI"), "i");
        assert_eq!(shortcut("с", "KeyC"), "c");
        assert_eq!(shortcut("А", "KeyF"), "F");
        // Latin layouts, and keys that are not letters, as they are.
        assert_eq!(shortcut("i", "KeyI"), "i");
        assert_eq!(shortcut("z", "KeyY"), "z", "German layout: Y gives z");
        assert_eq!(shortcut("?", "Digit7"), "?");
        assert_eq!(shortcut("1", "Digit1"), "1");
        assert_eq!(shortcut("ArrowDown", "ArrowDown"), "ArrowDown");
        assert_eq!(shortcut("ж", "Semicolon"), "ж");
    }
}
