"""Runs one C-FIND with pynetdicom and prints what came back, one JSON
object per line: {"status": "0xFF00", "identifier": {DICOM JSON}} for
each response (the identifier is null on the final one).

usage: find.py HOST PORT CALLED_AET MODEL LEVEL [KEYWORD=VALUE...]

MODEL is `patient` or `study`; LEVEL the Query/Retrieve Level; each
KEYWORD=VALUE adds a key (an empty VALUE asks for it to be returned).
Exits 0 when the association could be established.
"""

import json
import sys

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)


def main() -> int:
    host, port, called, model, level, *keys = sys.argv[1:]
    model = {
        "patient": PatientRootQueryRetrieveInformationModelFind,
        "study": StudyRootQueryRetrieveInformationModelFind,
    }[model]
    ae = AE(ae_title="PYFIND")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    ae.add_requested_context(model)
    query = Dataset()
    query.SpecificCharacterSet = "ISO_IR 192"
    query.QueryRetrieveLevel = level
    for key in keys:
        keyword, _, value = key.partition("=")
        setattr(query, keyword, value)
    assoc = ae.associate(host, int(port), ae_title=called)
    if not assoc.is_established:
        print("association failed", file=sys.stderr)
        return 1
    for status, identifier in assoc.send_c_find(query, model):
        print(
            json.dumps(
                {
                    "status": f"0x{status.Status:04X}" if status else None,
                    "identifier": identifier.to_json_dict() if identifier else None,
                }
            ),
            flush=True,
        )
    assoc.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
