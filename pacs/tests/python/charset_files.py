"""Writes DICOM files whose text pydicom encodes in ISO 2022 code
extensions (Cyrillic, Japanese and Korean names, PS3.5 Annexes H and I),
and one whose Cyrillic text is windows-1251 with no character set named,
as older consoles write it. Prints, per file, the text as pydicom reads it
back (the undeclared one: as windows-1251 says), for the archive to match.

usage: charset_files.py OUT_DIR
"""

import json
import sys
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

CASES = {
    "cyrillic": (["", "ISO 2022 IR 144"], "Ivanov^Ivan=Иванов^Иван", "КТ органов грудной клетки"),
    "japanese": (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう", "胸部CT"),
    "korean": (["", "ISO 2022 IR 149"], "Hong^Gildong=洪^吉洞=홍^길동", "흉부 CT"),
    "undeclared": (None, "Петров^Пётр", "Рентгенография грудной клетки"),
}


def dataset(charset):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    if charset is not None:
        ds.SpecificCharacterSet = charset
    return ds


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    found = {}
    for case, (charset, name, description) in CASES.items():
        ds = dataset(charset)
        ds.PatientID = case
        if charset is None:
            # Raw bytes: pydicom would refuse to encode these as ASCII.
            ds.add_new(0x00100010, "PN", name.encode("cp1251"))
            ds.add_new(0x00081030, "LO", description.encode("cp1251"))
        else:
            ds.PatientName = name
            ds.StudyDescription = description
        path = out / f"{case}.dcm"
        ds.save_as(path, enforce_file_format=True)
        back = pydicom.dcmread(path)
        if charset is None:
            groups = name.split("=")
            text = description
        else:
            groups = [
                back.PatientName.alphabetic,
                back.PatientName.ideographic,
                back.PatientName.phonetic,
            ]
            text = back.StudyDescription
        found[case] = {
            "file": str(path),
            "study": back.StudyInstanceUID,
            "name": [g for g in groups if g],
            "description": text,
        }
    print(json.dumps(found, ensure_ascii=False))


if __name__ == "__main__":
    main()
