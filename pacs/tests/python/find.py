"""Runs one C-FIND with pynetdicom and prints what came back, one JSON
object per line: {"status": "0xFF00", "identifier": {DICOM JSON}} for
each response (the identifier is null on the final one).

usage: find.py HOST PORT CALLED_AET MODEL LEVEL [KEYWORD=VALUE...]

MODEL is `patient` or `study`; LEVEL the Query/Retrieve Level; each
KEYWORD=VALUE adds a key (an empty VALUE asks for it to be returned).
The identifier is in UTF-8 (ISO_IR 192), or in the character sets that
QUERY_CHARSET names (backslash-separated, `\\ISO 2022 IR 144` for code
extensions), or, with QUERY_UNDECLARED=CODEC, in that codec with no
character set named, as older consoles write it.
Exits 0 when the association could be established.
"""

import json
import os
import sys

from _dimse import application_entity, associate, identifier
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
    ae = application_entity("PYFIND")
    ae.add_requested_context(model)
    undeclared = os.environ.get("QUERY_UNDECLARED")
    if undeclared:
        query = identifier(level, [])
        for key in keys:
            keyword, _, value = key.partition("=")
            setattr(query, keyword, value.encode(undeclared))
    else:
        charset = os.environ.get("QUERY_CHARSET", "ISO_IR 192").split("\\")
        query = identifier(level, keys, charset=charset)
    assoc = associate(ae, host, port, called)
    if not assoc.is_established:
        print("association failed", file=sys.stderr)
        return 1
    for status, answer in assoc.send_c_find(query, model):
        print(
            json.dumps(
                {
                    "status": f"0x{status.Status:04X}" if status else None,
                    "identifier": answer.to_json_dict() if answer else None,
                }
            ),
            flush=True,
        )
    assoc.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
