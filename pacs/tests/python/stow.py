"""STOW-RS with dicomweb-client.

Usage: stow.py BASE_URL STUDY_UID_OR_EMPTY FILE...

Reads the files with pydicom, stores them with
DICOMwebClient.store_instances and prints the response data set as DICOM
JSON on stdout.
"""
import json
import sys

import pydicom
from _client import client as make_client


def main() -> None:
    base, study, *paths = sys.argv[1:]
    client = make_client(base)
    datasets = [pydicom.dcmread(p) for p in paths]
    response = client.store_instances(
        datasets=datasets, study_instance_uid=study or None
    )
    print(json.dumps(response.to_json_dict()))


if __name__ == "__main__":
    main()
