//! Synthetic patients and the character sets their names are written in.

use dicom_encoding::text::{SpecificCharacterSet, TextCodec};

use crate::date::Date;
use crate::error::SamplesError;

/// The character set a data set declares in Specific Character Set (0008,0005).
///
/// The generator writes the patient name (and the other person-name and
/// free-text attributes) with exactly this encoding, so readers that honour
/// the declaration decode the original Unicode text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CharacterSet {
    /// The default repertoire (ASCII); the attribute is omitted.
    #[default]
    Default,
    /// `ISO_IR 100`, ISO-8859-1 (Latin-1).
    Latin1,
    /// `ISO_IR 144`, ISO-8859-5 (Cyrillic), still common on older CIS modalities.
    Cyrillic,
    /// `ISO_IR 192`, UTF-8.
    Utf8,
}

impl CharacterSet {
    /// The DICOM defined term, or `None` for the default repertoire.
    pub fn defined_term(self) -> Option<&'static str> {
        match self {
            CharacterSet::Default => None,
            CharacterSet::Latin1 => Some("ISO_IR 100"),
            CharacterSet::Cyrillic => Some("ISO_IR 144"),
            CharacterSet::Utf8 => Some("ISO_IR 192"),
        }
    }

    /// The bytes `text` becomes in a file declaring this character set,
    /// or `None` when a character has no representation in it.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            CharacterSet::Default => text.is_ascii().then(|| text.as_bytes().to_vec()),
            CharacterSet::Utf8 => Some(text.as_bytes().to_vec()),
            CharacterSet::Latin1 | CharacterSet::Cyrillic => {
                let term = self.defined_term()?;
                let codec = SpecificCharacterSet::from_code(term)?;
                codec.encode(text).ok()
            }
        }
    }

    fn label(self) -> &'static str {
        self.defined_term().unwrap_or("ISO_IR 6")
    }
}

/// Administrative sex as written in Patient's Sex (0010,0040).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `M`
    Male,
    /// `F`
    Female,
    /// `O`
    Other,
}

impl Sex {
    /// The DICOM code string.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
            Sex::Other => "O",
        }
    }
}

/// A synthetic patient. Names use the DICOM PN syntax (`Family^Given^Middle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// Patient's Name in Unicode, e.g. `Иванов^Иван`.
    pub name: String,
    /// Patient ID, ASCII only (it also names directories).
    pub id: String,
    /// Patient's Birth Date.
    pub birth_date: Date,
    /// Patient's Sex.
    pub sex: Sex,
    /// The character set the data sets of this patient declare.
    pub charset: CharacterSet,
}

impl Patient {
    /// A patient with the given name, ID, birth date, sex and character set.
    pub fn new(
        name: impl Into<String>,
        id: impl Into<String>,
        birth_date: Date,
        sex: Sex,
        charset: CharacterSet,
    ) -> Patient {
        Patient {
            name: name.into(),
            id: id.into(),
            birth_date,
            sex,
            charset,
        }
    }

    /// Check that the name fits the declared character set and the ID is a
    /// plain ASCII LO value.
    pub fn validate(&self) -> Result<(), SamplesError> {
        if self.charset.encode(&self.name).is_none() {
            return Err(SamplesError::Unencodable {
                name: self.name.clone(),
                charset: self.charset.label(),
            });
        }
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(SamplesError::InvalidSpec(format!(
                "patient ID {:?} must be 1-64 ASCII letters, digits, '-' or '_'",
                self.id
            )));
        }
        Ok(())
    }

    /// Patient's Age (0010,1010) on `date`, e.g. `047Y`.
    pub fn age_string(&self, date: Date) -> String {
        format!("{:03}Y", self.birth_date.age_on(date).min(999))
    }

    /// Иванов Иван, Cyrillic name written as ISO-8859-5 (`ISO_IR 144`).
    pub fn ivanov_iso_ir_144() -> Patient {
        Patient::new(
            "Иванов^Иван^Петрович",
            "UZ-TAS-000101",
            fixed_date(1968, 3, 14),
            Sex::Male,
            CharacterSet::Cyrillic,
        )
    }

    /// The same family name in UTF-8 (`ISO_IR 192`), a different patient.
    pub fn ivanova_utf8() -> Patient {
        Patient::new(
            "Иванова^Мария^Сергеевна",
            "UZ-TAS-000102",
            fixed_date(1975, 11, 2),
            Sex::Female,
            CharacterSet::Utf8,
        )
    }

    /// Uzbek Latin name with the modifier letter turned comma (U+02BB), UTF-8.
    pub fn orinboyeva_utf8() -> Patient {
        Patient::new(
            "Oʻrinboyeva^Gʻuncha",
            "UZ-NUK-000201",
            fixed_date(1990, 7, 21),
            Sex::Female,
            CharacterSet::Utf8,
        )
    }

    /// Uzbek Latin name that is plain ASCII: no Specific Character Set needed.
    pub fn karimov_ascii() -> Patient {
        Patient::new(
            "Karimov^Rustam",
            "UZ-SAM-000301",
            fixed_date(1957, 1, 30),
            Sex::Male,
            CharacterSet::Default,
        )
    }

    /// Uzbek name in Cyrillic script, UTF-8.
    pub fn toshmatov_utf8() -> Patient {
        Patient::new(
            "Тошматов^Шерзод",
            "UZ-FER-000401",
            fixed_date(1984, 9, 5),
            Sex::Male,
            CharacterSet::Utf8,
        )
    }
}

/// Every built-in sample patient, one per naming situation.
pub fn sample_patients() -> Vec<Patient> {
    vec![
        Patient::ivanov_iso_ir_144(),
        Patient::ivanova_utf8(),
        Patient::orinboyeva_utf8(),
        Patient::karimov_ascii(),
        Patient::toshmatov_utf8(),
    ]
}

impl Default for Patient {
    fn default() -> Self {
        Patient::karimov_ascii()
    }
}

/// A compile-time-known valid date.
pub(crate) fn fixed_date(year: i32, month: u32, day: u32) -> Date {
    Date { year, month, day }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_encodes_to_iso_8859_5() {
        let bytes = CharacterSet::Cyrillic
            .encode("Иванов^Иван")
            .unwrap_or_default();
        // И=0xB8 в=0xD2 а=0xD0 н=0xDD о=0xDE в=0xD2 ^ И=0xB8 в=0xD2 а=0xD0 н=0xDD
        assert_eq!(
            bytes,
            [
                0xB8, 0xD2, 0xD0, 0xDD, 0xDE, 0xD2, b'^', 0xB8, 0xD2, 0xD0, 0xDD
            ]
        );
    }

    #[test]
    fn sample_patients_validate() {
        for p in sample_patients() {
            assert!(p.validate().is_ok(), "{p:?}");
        }
    }

    #[test]
    fn uzbek_modifier_letter_is_not_cyrillic() {
        let mut p = Patient::orinboyeva_utf8();
        p.charset = CharacterSet::Cyrillic;
        assert!(matches!(
            p.validate(),
            Err(SamplesError::Unencodable { .. })
        ));
    }
}
