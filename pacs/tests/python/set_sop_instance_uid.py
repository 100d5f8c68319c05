"""Writes a copy of a DICOM file whose SOP Instance UID (in the data set
and the file meta group) is replaced by any string, valid UID or not.

Usage: set_sop_instance_uid.py SOURCE DESTINATION VALUE

pydicom is told not to validate values on writing, so that test files
with hostile UIDs (path traversal, letters) can be made. Prints the SOP
Instance UID read back from the written file, as JSON.
"""
import json
import sys
import warnings

import pydicom
from pydicom import config


def main() -> None:
    source, destination, value = sys.argv[1:]
    config.settings.writing_validation_mode = config.IGNORE
    config.settings.reading_validation_mode = config.IGNORE
    warnings.simplefilter("ignore")
    ds = pydicom.dcmread(source)
    ds.SOPInstanceUID = value
    ds.file_meta.MediaStorageSOPInstanceUID = value
    ds.save_as(destination, enforce_file_format=True)
    written = pydicom.dcmread(destination)
    print(json.dumps({"sop": str(written.SOPInstanceUID),
                      "meta": str(written.file_meta.MediaStorageSOPInstanceUID)}))


if __name__ == "__main__":
    main()
