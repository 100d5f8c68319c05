use super::*;

#[test]
fn names_match_whatever_padding_they_came_with() {
    assert_eq!(person_name_key("Yusupov^Akmal^^^"), "YUSUPOV^AKMAL");
    assert_eq!(person_name_key(" yusupov ^ Akmal "), "YUSUPOV^AKMAL");
    assert_eq!(person_name_key("Yusupov^Akmal^^^=="), "YUSUPOV^AKMAL");
    assert_eq!(
        person_name_key("Yamada^Tarou=山田^太郎=やまだ^たろう"),
        "YAMADA^TAROU=山田^太郎=やまだ^たろう"
    );
    assert_eq!(person_name_key("=Иванов^Иван"), "=ИВАНОВ^ИВАН");
    assert_eq!(person_name_key("^^^"), "");
    assert_eq!(person_name_key("Doe^^Jr"), "DOE^^JR");
    assert_eq!(person_name_key("IVAN*^"), "IVAN*");
}

#[test]
fn names_match_however_the_console_spelled_them() {
    // Words typed with spaces (or hyphens) instead of `^`.
    assert_eq!(
        person_name_key("Иванов Иван"),
        person_name_key("Иванов^Иван")
    );
    assert_eq!(person_name_key("  Иванов   Иван "), "ИВАНОВ^ИВАН");
    assert_eq!(
        person_name_key("Ivanov^Ivan Petrovich"),
        person_name_key("Ivanov^Ivan^Petrovich")
    );
    assert_eq!(
        person_name_key("Petrov-Vodkin^Kuzma"),
        "PETROV^VODKIN^KUZMA"
    );
    // Empty components inside a name keep their place.
    assert_eq!(person_name_key("Doe^^Jr"), "DOE^^JR");
    // The Uzbek okina however typed, or left out.
    for typed in [
        "Oʻrinboyeva",
        "O'rinboyeva",
        "O‘rinboyeva",
        "O’rinboyeva",
        "O`rinboyeva",
        "Orinboyeva",
    ] {
        assert_eq!(person_name_key(typed), "ORINBOYEVA", "{typed}");
    }
    assert_eq!(person_name_key("Gʻulomov^Oʻktam"), "GULOMOV^OKTAM");
    // Ё as Е.
    assert_eq!(
        person_name_key("Фёдоров^Артём"),
        person_name_key("Федоров^Артем")
    );
    // Wildcards are kept for the match.
    assert_eq!(person_name_key("Иванов Ив*"), "ИВАНОВ^ИВ*");
    assert_eq!(person_name_key("O'rin?oyeva"), "ORIN?OYEVA");
}

#[test]
fn times_match_their_whole_last_unit_and_ignore_trailing_zeros() {
    let parse = |v: &str| {
        let (q, _) = Query::from_pairs(Level::Study, [("StudyTime", v)]).expect(v);
        q.matches[0].value.clone()
    };
    let range = |a: Option<&str>, b: Option<&str>| {
        MatchValue::Range(a.map(str::to_owned), b.map(str::to_owned))
    };
    assert_eq!(parse("164332"), range(Some("164332"), Some("164332")));
    assert_eq!(parse("164332.000"), range(Some("164332"), Some("164332")));
    assert_eq!(
        parse("16:43:32.50"),
        range(Some("164332.5"), Some("164332.5"))
    );
    assert_eq!(
        parse("164332.000-1650"),
        range(Some("164332"), Some("1650"))
    );
    assert_eq!(parse("-0800"), range(None, Some("0800")));
    assert_eq!(parse("2200-"), range(Some("2200"), None));
    for bad in ["-", "16433", "1643.5", "164332.1234567", "16a0", "1643-17x"] {
        assert!(
            Query::from_pairs(Level::Study, [("StudyTime", bad)]).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn several_text_values_match_any_of_them() {
    let value = |attribute, raw| parse_value(attribute, raw).unwrap();
    let any = |v: &[&str]| MatchValue::AnyOf(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(value(Attribute::Modality, "CR\\DX"), any(&["CR", "DX"]));
    assert_eq!(value(Attribute::Modality, "CR,D*"), any(&["CR", "D*"]));
    assert_eq!(value(Attribute::PatientId, "A1\\B2"), any(&["A1", "B2"]));
    assert_eq!(
        value(Attribute::PatientName, "Ivanov*\\Petrov*"),
        any(&["Ivanov*", "Petrov*"])
    );
    // A comma may be part of a value other than a code string's.
    assert_eq!(
        value(Attribute::PatientId, "A1,B2"),
        MatchValue::Exact("A1,B2".into())
    );
    assert_eq!(
        value(Attribute::Modality, "CT\\"),
        MatchValue::Exact("CT".into())
    );
}

#[test]
fn parses_standard_matching() {
    let (q, warnings) = Query::from_pairs(
        Level::Study,
        [
            ("PatientName", "IVAN*"),
            ("StudyDate", "20240101-20241231"),
            ("00080050", "A123"),
            ("StudyInstanceUID", "1.2.3,1.2.4"),
            ("limit", "5"),
            ("offset", "10"),
            ("includefield", "00081030,StudyDescription,all"),
            ("InstitutionName", "bar"),
        ],
    )
    .unwrap();
    assert_eq!(q.limit, 5);
    assert_eq!(q.offset, 10);
    assert!(q.include_all);
    assert_eq!(warnings.len(), 1);
    assert_eq!(q.matches[0].value, MatchValue::Wildcard("IVAN*".into()));
    assert_eq!(
        q.matches[1].value,
        MatchValue::Range(Some("20240101".into()), Some("20241231".into()))
    );
    assert_eq!(q.matches[2].attribute, Attribute::AccessionNumber);
    assert_eq!(
        q.matches[3].value,
        MatchValue::UidList(vec!["1.2.3".into(), "1.2.4".into()])
    );
}

#[test]
fn open_ranges_and_bad_values() {
    let (q, _) = Query::from_pairs(Level::Study, [("StudyDate", "-20240101")]).unwrap();
    assert_eq!(
        q.matches[0].value,
        MatchValue::Range(None, Some("20240101".into()))
    );
    let (q, _) = Query::from_pairs(Level::Study, [("StudyDate", "2024-01-31")]).unwrap();
    assert_eq!(q.matches[0].value, MatchValue::Exact("20240131".into()));
    assert!(Query::from_pairs(Level::Study, [("StudyDate", "yesterday")]).is_err());
    for (key, impossible) in [
        ("StudyDate", "20251301"),
        ("StudyDate", "20250230"),
        ("StudyDate", "20250101-20251332"),
        ("StudyTime", "25"),
        ("StudyTime", "1261"),
        ("StudyTime", "9999"),
    ] {
        assert!(
            Query::from_pairs(Level::Study, [(key, impossible)]).is_err(),
            "{key}={impossible}"
        );
    }
    let (q, _) = Query::from_pairs(Level::Study, [("StudyDate", "20240229")]).unwrap();
    assert_eq!(q.matches.len(), 1);
    assert!(Query::from_pairs(Level::Study, [("StudyInstanceUID", "../x")]).is_err());
    assert!(Query::from_pairs(Level::Study, [("limit", "-1")]).is_err());
    // A slip of the keyboard is no search of everything.
    for (key, value) in [
        ("PatientNmae", "Ivanov"),
        ("0008103X", "1"),
        ("includefield", "NoSuchAttribute"),
        ("fuzzymatching", "maybe"),
        ("limit", "0"),
    ] {
        let refused = Query::from_pairs(Level::Study, [(key, value)]).unwrap_err();
        assert!(refused.to_string().contains(key), "{refused}");
    }
    // An attribute the archive does not match on is a warning.
    let (_, warnings) = Query::from_pairs(Level::Study, [("99999999", "1")]).unwrap();
    assert_eq!(warnings.len(), 1);
}
