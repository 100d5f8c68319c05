//! The strings, one row per key: `(key, English, Russian, Uzbek Latin)`.
//! Keys are grouped by where they appear; keep each group sorted by use.

use super::Entry;

#[rustfmt::skip]
pub static TABLE: &[Entry] = &[
    // Application and language
    ("app.title", "PACS Viewer", "Просмотр PACS", "PACS koʻrish vositasi"),
    ("app.loading", "Loading…", "Загрузка…", "Yuklanmoqda…"),
    ("lang.label", "Language", "Язык", "Til"),
    ("lang.en", "English", "English", "English"),
    ("lang.ru", "Русский", "Русский", "Русский"),
    ("lang.uz", "Oʻzbekcha", "Oʻzbekcha", "Oʻzbekcha"),

    // Study list: search
    ("list.title", "Studies", "Исследования", "Tekshiruvlar"),
    ("search.patient_name", "Patient name", "Имя пациента", "Bemorning ismi"),
    ("search.patient_id", "Patient ID", "ID пациента", "Bemor ID raqami"),
    ("search.date_from", "Date from", "Дата с", "Sanadan"),
    ("search.date_to", "Date to", "Дата по", "Sanagacha"),
    ("search.modality", "Modality", "Модальность", "Modallik"),
    ("search.modality_any", "Any modality", "Любая модальность", "Istalgan modallik"),
    ("search.accession", "Accession number", "Номер направления", "Yoʻllanma raqami"),
    ("search.submit", "Search", "Найти", "Qidirish"),
    ("search.clear", "Clear", "Очистить", "Tozalash"),
    ("search.searching", "Searching…", "Поиск…", "Qidirilmoqda…"),

    // Study list: columns, rows and paging
    ("column.patient_name", "Patient", "Пациент", "Bemor"),
    ("column.patient_id", "Patient ID", "ID пациента", "Bemor ID raqami"),
    ("column.birth_date", "Birth date", "Дата рождения", "Tugʻilgan sana"),
    ("column.sex", "Sex", "Пол", "Jinsi"),
    ("column.study_date", "Study date", "Дата исследования", "Tekshiruv sanasi"),
    ("column.modality", "Modality", "Модальность", "Modallik"),
    ("column.description", "Description", "Описание", "Tavsif"),
    ("column.accession", "Accession number", "Номер направления", "Yoʻllanma raqami"),
    ("column.series", "Series", "Серии", "Seriyalar"),
    ("column.images", "Images", "Снимки", "Tasvirlar"),
    ("list.open", "Open", "Открыть", "Ochish"),
    ("list.empty", "No studies found", "Исследования не найдены", "Tekshiruvlar topilmadi"),
    ("paging.previous", "Previous", "Назад", "Oldingi"),
    ("paging.next", "Next", "Далее", "Keyingi"),
    ("paging.range", "Studies {from}–{to}", "Исследования {from}–{to}", "Tekshiruvlar {from}–{to}"),
    ("sex.male", "Male", "Мужской", "Erkak"),
    ("sex.female", "Female", "Женский", "Ayol"),
    ("sex.other", "Other", "Другой", "Boshqa"),

    // Viewer: navigation
    ("viewer.back", "Study list", "Список исследований", "Tekshiruvlar roʻyxati"),
    ("viewer.series", "Series", "Серии", "Seriyalar"),
    ("viewer.prior", "Prior study", "Предыдущее исследование", "Oldingi tekshiruv"),
    ("viewer.no_prior", "No prior studies", "Предыдущих исследований нет", "Oldingi tekshiruvlar yoʻq"),
    ("viewer.help", "Help", "Справка", "Yordam"),
    ("viewer.close", "Close", "Закрыть", "Yopish"),

    // Viewer: tools
    ("tool.wl", "Window/level", "Окно/уровень", "Oyna/daraja"),
    ("tool.zoom", "Zoom", "Масштаб", "Masshtab"),
    ("tool.pan", "Pan", "Перемещение", "Surish"),
    ("tool.scroll", "Scroll through slices", "Листать срезы", "Kesimlarni varaqlash"),
    ("tool.length", "Length", "Длина", "Uzunlik"),
    ("tool.angle", "Angle", "Угол", "Burchak"),
    ("tool.rect", "Rectangle ROI", "Прямоугольная область", "Toʻrtburchak soha"),
    ("tool.ellipse", "Ellipse ROI", "Эллиптическая область", "Ellips soha"),
    ("tool.rotate", "Rotate 90°", "Повернуть на 90°", "90° ga burish"),
    ("tool.flip_h", "Flip horizontally", "Отразить по горизонтали", "Gorizontal aks ettirish"),
    ("tool.flip_v", "Flip vertically", "Отразить по вертикали", "Vertikal aks ettirish"),
    ("tool.invert", "Invert", "Инвертировать", "Inversiyalash"),
    ("tool.reset", "Reset", "Сбросить", "Asliga qaytarish"),
    ("tool.fit", "Fit to window", "По размеру окна", "Oynaga moslash"),
    ("tool.one_to_one", "Actual size (1:1)", "Реальный размер (1:1)", "Haqiqiy oʻlcham (1:1)"),
    ("tool.clear_measurements", "Delete measurements", "Удалить измерения", "Oʻlchovlarni oʻchirish"),

    // Viewer: cine
    ("cine.play", "Play", "Воспроизвести", "Ijro etish"),
    ("cine.pause", "Pause", "Пауза", "Pauza"),
    ("cine.frame_rate", "Frame rate", "Частота кадров", "Kadrlar chastotasi"),
    ("cine.fps", "{fps} fps", "{fps} кадр/с", "{fps} kadr/s"),
    ("cine.loop", "Loop", "По кругу", "Aylanma"),
    ("cine.bounce", "Back and forth", "Туда и обратно", "Oldinga va orqaga"),

    // Viewer: layouts and MPR
    ("layout.label", "Layout", "Раскладка", "Joylashuv"),
    ("layout.1x1", "1×1", "1×1", "1×1"),
    ("layout.1x2", "1×2", "1×2", "1×2"),
    ("layout.2x2", "2×2", "2×2", "2×2"),
    ("mpr.label", "MPR", "МПР", "MPR"),
    ("mpr.original", "Original slices", "Исходные срезы", "Asl kesimlar"),
    ("mpr.axial", "Axial", "Аксиальная", "Aksial"),
    ("mpr.coronal", "Coronal", "Корональная", "Koronal"),
    ("mpr.sagittal", "Sagittal", "Сагиттальная", "Sagittal"),
    ("mpr.slab", "MIP slab thickness", "Толщина слоя MIP", "MIP qatlami qalinligi"),
    ("mpr.slab_mm", "{mm} mm", "{mm} мм", "{mm} mm"),
    ("mpr.unavailable", "MPR needs parallel, evenly spaced slices", "Для МПР нужны параллельные срезы с равным шагом", "MPR uchun parallel va teng oraliqli kesimlar kerak"),
    ("slab.mip", "MIP", "MIP", "MIP"),
    ("slab.minip", "MinIP", "MinIP", "MinIP"),
    ("slab.mean", "Average", "Среднее", "Oʻrtacha"),

    // Window presets
    ("preset.label", "Window presets", "Предустановки окна", "Oyna andozalari"),
    ("preset.soft_tissue", "Soft tissue", "Мягкие ткани", "Yumshoq toʻqimalar"),
    ("preset.lung", "Lung", "Лёгкие", "Oʻpka"),
    ("preset.bone", "Bone", "Кости", "Suyak"),
    ("preset.brain", "Brain", "Головной мозг", "Bosh miya"),
    ("preset.liver", "Liver", "Печень", "Jigar"),
    ("preset.file", "From the image", "Из изображения", "Tasvirdan"),
    ("preset.full_range", "Full range", "Полный диапазон", "Toʻliq diapazon"),

    // Overlays
    ("overlay.window", "W {width} L {center}", "W {width} L {center}", "W {width} L {center}"),
    ("overlay.zoom", "Zoom {zoom}", "Масштаб {zoom}", "Masshtab {zoom}"),
    ("overlay.slice", "Slice {n}/{total}", "Срез {n}/{total}", "Kesim {n}/{total}"),
    ("overlay.frame", "Frame {n}/{total}", "Кадр {n}/{total}", "Kadr {n}/{total}"),
    ("overlay.image", "Image {n}/{total}", "Снимок {n}/{total}", "Tasvir {n}/{total}"),
    ("overlay.thickness", "Thickness {mm} mm", "Толщина {mm} мм", "Qalinlik {mm} mm"),
    ("overlay.location", "Location {mm} mm", "Положение {mm} мм", "Oʻrni {mm} mm"),
    ("overlay.series", "Series {number}", "Серия {number}", "Seriya {number}"),
    ("overlay.uncalibrated", "Uncalibrated", "Без калибровки", "Kalibrlanmagan"),
    ("overlay.inverted", "Inverted", "Инверсия", "Inversiya"),

    // Units
    ("unit.mm", "mm", "мм", "mm"),
    ("unit.mm2", "mm²", "мм²", "mm²"),
    ("unit.px", "px", "пикс.", "piks."),
    ("unit.px2", "px²", "пикс.²", "piks.²"),
    ("unit.hu", "HU", "HU", "HU"),
    ("unit.degree", "°", "°", "°"),
    ("unit.modality", "modality units", "ед. модальности", "modallik birliklari"),

    // Measurements
    ("measure.length", "Length", "Длина", "Uzunlik"),
    ("measure.angle", "Angle", "Угол", "Burchak"),
    ("measure.mean", "Mean", "Среднее", "Oʻrtacha"),
    ("measure.sd", "SD", "СКО", "SO"),
    ("measure.min", "Min", "Мин.", "Min."),
    ("measure.max", "Max", "Макс.", "Maks."),
    ("measure.area", "Area", "Площадь", "Maydon"),
    ("measure.pixels", "Pixels", "Пикселей", "Piksellar"),

    // Calibration: where measurements hold
    ("calibration.patient", "Measured in the patient", "Измерено в теле пациента", "Bemor tanasida oʻlchangan"),
    ("calibration.geometry", "Calibrated for geometric magnification", "Откалибровано с учётом геометрического увеличения", "Geometrik kattalashtirish hisobga olinib kalibrlangan"),
    ("calibration.fiducial", "Calibrated against a reference object", "Откалибровано по эталонному объекту", "Etalon obyekt boʻyicha kalibrlangan"),
    ("calibration.unspecified", "Calibrated by an unstated method", "Откалибровано неуказанным методом", "Koʻrsatilmagan usulda kalibrlangan"),
    ("calibration.detector", "Measured at the detector plane: anatomy appears magnified", "Измерено в плоскости детектора: анатомия увеличена", "Detektor tekisligida oʻlchangan: aʼzolar kattalashgan koʻrinadi"),
    ("calibration.magnification", "Corrected for the estimated radiographic magnification", "С поправкой на расчётное рентгенографическое увеличение", "Taxminiy rentgenografik kattalashtirishga tuzatilgan"),
    ("calibration.uncalibrated", "Uncalibrated: pixels", "Без калибровки: пиксели", "Kalibrlanmagan: piksellar"),

    // Progress
    ("progress.study", "Loading study…", "Загрузка исследования…", "Tekshiruv yuklanmoqda…"),
    ("progress.loading", "Loading {n} of {total}", "Загрузка {n} из {total}", "Yuklanmoqda: {n} / {total}"),

    // Errors, in words a reader can act on
    ("error.server_unreachable", "The server cannot be reached", "Сервер недоступен", "Serverga ulanib boʻlmayapti"),
    ("error.server", "The server answered with an error ({status})", "Сервер ответил ошибкой ({status})", "Server xato bilan javob berdi ({status})"),
    ("error.study_not_found", "Study not found", "Исследование не найдено", "Tekshiruv topilmadi"),
    ("error.no_study", "No study was chosen", "Исследование не выбрано", "Tekshiruv tanlanmagan"),
    ("error.no_images", "This study has no images", "В этом исследовании нет изображений", "Bu tekshiruvda tasvirlar yoʻq"),
    ("error.decode", "This image could not be decoded", "Не удалось декодировать это изображение", "Bu tasvirni dekodlab boʻlmadi"),
    ("error.unsupported", "This image's format is not supported", "Формат этого изображения не поддерживается", "Bu tasvir formati qoʻllab-quvvatlanmaydi"),
    ("error.no_gpu", "This browser supports neither WebGPU nor WebGL2", "Этот браузер не поддерживает ни WebGPU, ни WebGL2", "Bu brauzer WebGPU ni ham, WebGL2 ni ham qoʻllab-quvvatlamaydi"),
    ("error.retry", "Try again", "Повторить", "Qayta urinish"),

    // Keyboard and mouse help: the inputs
    ("help.title", "Keyboard and mouse", "Клавиатура и мышь", "Klaviatura va sichqoncha"),
    ("key.left_drag", "Left-button drag", "Перетаскивание левой кнопкой", "Chap tugma bilan tortish"),
    ("key.right_drag", "Right- or middle-button drag", "Перетаскивание правой или средней кнопкой", "Oʻng yoki oʻrta tugma bilan tortish"),
    ("key.wheel", "Mouse wheel", "Колесо мыши", "Sichqoncha gʻildiragi"),
    ("key.ctrl_wheel", "Ctrl + mouse wheel", "Ctrl + колесо мыши", "Ctrl + sichqoncha gʻildiragi"),
    ("key.arrows", "Up / down arrows", "Стрелки вверх / вниз", "Yuqoriga / pastga strelkalari"),
    ("key.page", "PageUp / PageDown", "PageUp / PageDown", "PageUp / PageDown"),
    ("key.home_end", "Home / End", "Home / End", "Home / End"),
    ("key.digits", "1–5", "1–5", "1–5"),

    // Keyboard and mouse help: what they do
    ("help.wl", "Adjust window/level", "Настроить окно/уровень", "Oyna/darajani sozlash"),
    ("help.scroll", "Next / previous slice", "Следующий / предыдущий срез", "Keyingi / oldingi kesim"),
    ("help.scroll_fast", "Ten slices forward / back", "На десять срезов вперёд / назад", "Oʻn kesim oldinga / orqaga"),
    ("help.first_last", "First / last slice", "Первый / последний срез", "Birinchi / oxirgi kesim"),
    ("help.zoom", "Zoom in / out", "Увеличить / уменьшить", "Kattalashtirish / kichraytirish"),
    ("help.presets", "CT windows: soft tissue, lung, bone, brain, liver", "Окна КТ: мягкие ткани, лёгкие, кости, мозг, печень", "KT oynalari: yumshoq toʻqimalar, oʻpka, suyak, miya, jigar"),
    ("help.cine", "Play / pause cine", "Воспроизведение / пауза", "Ijro etish / pauza"),
    ("help.fit", "Fit the image to the window", "Вписать изображение в окно", "Tasvirni oynaga moslash"),
    ("help.reset", "Reset the view", "Сбросить вид", "Koʻrinishni asliga qaytarish"),
    ("help.invert", "Invert the grey scale", "Инвертировать шкалу серого", "Kulrang shkalani inversiyalash"),
    ("help.rotate", "Rotate 90° clockwise", "Повернуть на 90° по часовой стрелке", "Soat mili boʻyicha 90° ga burish"),
    ("help.help", "Show or hide this help", "Показать или скрыть эту справку", "Ushbu yordamni koʻrsatish yoki yashirish"),
];
