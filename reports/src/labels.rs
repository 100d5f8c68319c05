//! The fixed words of the PDF and the narrative, per report language.

use crate::model::Lang;

pub(crate) struct Labels {
    pub report_title: &'static str,
    pub preliminary_banner: &'static str,
    pub patient: &'static str,
    pub patient_id: &'static str,
    pub birth_date: &'static str,
    pub sex: &'static str,
    pub study: &'static str,
    pub study_date: &'static str,
    pub accession: &'static str,
    pub modalities: &'static str,
    pub referring: &'static str,
    pub critical: &'static str,
    pub flagged_by: &'static str,
    pub acknowledged_by: &'static str,
    pub not_acknowledged: &'static str,
    pub addendum: &'static str,
    pub reason: &'static str,
    pub signed_by: &'static str,
    pub preliminary_by: &'static str,
    pub key_images: &'static str,
    pub page: &'static str,
    pub of: &'static str,
    pub male: &'static str,
    pub female: &'static str,
    pub other: &'static str,
}

impl Labels {
    pub fn sex(&self, cs: &str) -> String {
        match cs.trim() {
            "M" => self.male.to_string(),
            "F" => self.female.to_string(),
            "O" => self.other.to_string(),
            other => other.to_string(),
        }
    }
}

pub(crate) fn labels(lang: Lang) -> &'static Labels {
    match lang {
        Lang::En => &EN,
        Lang::Ru => &RU,
        Lang::Uz => &UZ,
    }
}

const EN: Labels = Labels {
    report_title: "Radiology report",
    preliminary_banner: "PRELIMINARY REPORT: not yet final",
    patient: "Patient",
    patient_id: "Patient ID",
    birth_date: "Date of birth",
    sex: "Sex",
    study: "Study",
    study_date: "Study date",
    accession: "Accession number",
    modalities: "Modality",
    referring: "Referring physician",
    critical: "Critical finding",
    flagged_by: "Flagged by",
    acknowledged_by: "Acknowledged by",
    not_acknowledged: "Not yet acknowledged",
    addendum: "Addendum",
    reason: "Reason",
    signed_by: "Signed by",
    preliminary_by: "Preliminary report by",
    key_images: "Key images",
    page: "Page",
    of: "of",
    male: "Male",
    female: "Female",
    other: "Other",
};

const RU: Labels = Labels {
    report_title: "Протокол лучевого исследования",
    preliminary_banner: "ПРЕДВАРИТЕЛЬНОЕ ЗАКЛЮЧЕНИЕ: не окончательное",
    patient: "Пациент",
    patient_id: "ID пациента",
    birth_date: "Дата рождения",
    sex: "Пол",
    study: "Исследование",
    study_date: "Дата исследования",
    accession: "Номер направления",
    modalities: "Модальность",
    referring: "Направивший врач",
    critical: "Критическая находка",
    flagged_by: "Отметил(а)",
    acknowledged_by: "Принял(а) к сведению",
    not_acknowledged: "Ещё не подтверждено",
    addendum: "Дополнение",
    reason: "Причина",
    signed_by: "Подписал(а)",
    preliminary_by: "Предварительное заключение:",
    key_images: "Ключевые изображения",
    page: "Страница",
    of: "из",
    male: "Мужской",
    female: "Женский",
    other: "Другой",
};

const UZ: Labels = Labels {
    report_title: "Nur diagnostikasi tekshiruvi bayonnomasi",
    preliminary_banner: "DASTLABKI XULOSA: hali yakuniy emas",
    patient: "Bemor",
    patient_id: "Bemor ID",
    birth_date: "Tugʻilgan sana",
    sex: "Jinsi",
    study: "Tekshiruv",
    study_date: "Tekshiruv sanasi",
    accession: "Yoʻllanma raqami",
    modalities: "Modallik",
    referring: "Yoʻllagan shifokor",
    critical: "Kritik topilma",
    flagged_by: "Belgilagan",
    acknowledged_by: "Qabul qilgan",
    not_acknowledged: "Hali tasdiqlanmagan",
    addendum: "Qoʻshimcha",
    reason: "Sababi",
    signed_by: "Imzolagan",
    preliminary_by: "Dastlabki xulosa muallifi",
    key_images: "Asosiy tasvirlar",
    page: "Sahifa",
    of: "/",
    male: "Erkak",
    female: "Ayol",
    other: "Boshqa",
};
