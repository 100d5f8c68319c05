//! Normal-study templates in Uzbek (Latin script: oʻ and gʻ with U+02BB,
//! the tutuq belgisi ʼ with U+02BC).

use super::Text;

pub(super) const TEMPLATES: [Text; 5] = [
    Text {
        id: "ct-head",
        name: "Bosh miya KT (kontrastsiz)",
        technique: "Bosh suyagi asosidan gumbazigacha vena ichiga kontrast yuborilmasdan aksial \
KT. Miya va suyak oynalarida multiplanar rekonstruksiyalar.",
        comparison: "Oldingi tekshiruvlar taqdim etilmagan.",
        findings: "Miya moddasi: kulrang va oq modda differensiatsiyasi saqlangan. Kalla ichi \
qon quyilishi, hajmli hosila, massa-effekt va shakllangan infarkt oʻchoqlari aniqlanmadi.
Qorinchalar va subaraxnoidal boʻshliqlar: qorinchalar va egatlar yoshga mos oʻlcham va \
shaklda. Ekstraaksial suyuqlik toʻplanishi yoʻq. Oʻrta chiziq tuzilmalari siljimagan. Bazal \
sisternalar koʻrinadi.
Orqa kalla chuqurchasi: miyacha va miya ustuni oʻzgarishsiz.
Tomirlar: giperdens arteriya belgisi yoʻq.
Kalla gumbazi va asosi suyaklari: sinish va destruktiv oʻzgarishlar aniqlanmadi.
Burun yon boʻshliqlari va soʻrgʻichsimon oʻsimta kataklari: pnevmatizatsiyasi saqlangan.
Koʻz kosalari: oʻzgarishsiz.",
        impression: "Oʻtkir kalla ichi patologiyasi aniqlanmadi.",
    },
    Text {
        id: "ct-chest",
        name: "Koʻkrak qafasi KT (kontrastli)",
        technique: "Koʻkrak qafasining yuqori aperturadan buyrak usti bezlarigacha vena ichiga \
kontrast yuborilgandan keyingi spiral KT. Oʻpka va yumshoq toʻqima oynalarida 1 mm \
qalinlikdagi aksial rekonstruksiyalar, multiplanar rekonstruksiyalar.",
        comparison: "Oldingi tekshiruvlar taqdim etilmagan.",
        findings: "Oʻpkalar va nafas yoʻllari: infiltratsiya, hajmli hosila va shubhali \
oʻchoqlar aniqlanmadi. Interstitsial oʻzgarishlar yoʻq. Traxeya va bosh bronxlar oʻtkazuvchan.
Plevra: suyuqlik va pnevmotoraks yoʻq.
Koʻks oraligʻi va oʻpka ildizlari: kattalashgan mediastinal, bronxopulmonal va qoʻltiq osti \
limfa tugunlari aniqlanmadi.
Yurak va yirik tomirlar: yurak oʻlchamlari kattalashmagan. Perikard boʻshligʻida suyuqlik \
yoʻq. Koʻkrak aortasi va oʻpka arteriyalari odatiy kalibrda.
Koʻkrak devori va suyaklar: shubhali suyak oʻzgarishlari va sinishlar yoʻq.
Qorin boʻshligʻining yuqori qismlari: skanerlash sohasida oʻzgarishsiz.",
        impression: "Koʻkrak qafasi aʼzolarida oʻtkir patologiya aniqlanmadi.",
    },
    Text {
        id: "ct-abdomen",
        name: "Qorin boʻshligʻi va kichik chanoq KT (kontrastli)",
        technique: "Qorin boʻshligʻi va kichik chanoqning vena ichiga kontrast yuborilgandan \
keyin portal venoz fazadagi spiral KT. Aksial va koronal rekonstruksiyalar.",
        comparison: "Oldingi tekshiruvlar taqdim etilmagan.",
        findings: "Jigar: oʻlchami va zichligi meʼyorda. Oʻchoqli oʻzgarishlar yoʻq.
Oʻt pufagi va oʻt yoʻllari: oʻt pufagi oʻzgarishsiz. Oʻt yoʻllari kengaymagan.
Meʼda osti bezi: bir xil kontrastlanadi. Hajmli hosila va yoʻlning kengayishi yoʻq.
Taloq: kattalashmagan.
Buyrak usti bezlari: oʻzgarishsiz.
Buyraklar va siydik yoʻllari: simmetrik kontrastlanadi. Gidronefroz, tosh va hajmli \
hosilalar yoʻq.
Siydik pufagi: ushbu toʻlishda oʻzgarishsiz.
Ichak va ichak tutqichi: ichak tutilishi va devor qalinlashuvi belgilari yoʻq. \
Chuvalchangsimon oʻsimta oʻzgarmagan.
Limfa tugunlari: qorin boʻshligʻi va kichik chanoqda kattalashgan limfa tugunlari yoʻq.
Tomirlar: qorin aortasi odatiy kalibrda.
Qorin pardasi: erkin suyuqlik va erkin gaz yoʻq.
Kichik chanoq aʼzolari: oʻzgarishsiz.
Suyaklar va yumshoq toʻqimalar: shubhali suyak oʻzgarishlari yoʻq.",
        impression: "Qorin boʻshligʻi va kichik chanoq aʼzolarida oʻtkir patologiya aniqlanmadi.",
    },
    Text {
        id: "chest-xray",
        name: "Koʻkrak qafasi rentgenografiyasi",
        technique: "Koʻkrak qafasi aʼzolarining toʻgʻri (orqa-old) va yon proyeksiyalardagi \
rentgenografiyasi.",
        comparison: "Oldingi tekshiruvlar taqdim etilmagan.",
        findings: "Oʻpkalar: oʻchoqli va infiltrativ oʻzgarishlar yoʻq. Oʻpka shishi \
belgilari yoʻq.
Plevra: suyuqlik va pnevmotoraks yoʻq.
Yurak va koʻks oraligʻi: yurak va koʻks oraligʻi soyasi odatiy oʻlcham va shaklda.
Suyaklar va yumshoq toʻqimalar: oʻtkir suyak oʻzgarishlari yoʻq.",
        impression: "Koʻkrak qafasi aʼzolarida oʻtkir patologiya aniqlanmadi.",
    },
    Text {
        id: "extremity-xray",
        name: "Qoʻl-oyoq rentgenografiyasi",
        technique: "Oʻzaro perpendikulyar ikki proyeksiyada rentgenografiya.",
        comparison: "Oldingi tekshiruvlar taqdim etilmagan.",
        findings: "Suyaklar: sinish yoʻq. Suyak toʻqimasida oʻchoqli oʻzgarishlar yoʻq. \
Suyaklar mineralizatsiyasi meʼyorda.
Boʻgʻimlar: boʻgʻimlardagi nisbatlar toʻgʻri. Boʻgʻim yoriqlari saqlangan. Suyuqlik yoʻq.
Yumshoq toʻqimalar: shish yoʻq. Rentgenkontrast yot jismlar yoʻq.",
        impression: "Sinish va chiqish aniqlanmadi.",
    },
];
