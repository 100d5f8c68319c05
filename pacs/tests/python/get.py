"""Runs one C-GET with pynetdicom and prints what happened, one JSON
object per line: {"stored": SOP Instance UID, "transfer_syntax": ...,
"pixel_sha256": ...} for each instance received, then {"status": ...,
"completed": n, "failed": n, "warning": n, "failed_uids": [...]} for each
C-GET response.

usage: get.py HOST PORT CALLED_AET MODEL LEVEL TS [KEYWORD=VALUE...]

MODEL is `patient` or `study`; TS is the transfer syntaxes proposed, in
order, for receiving CT images, one context: `implicit`, `explicit` or
UIDs, separated by commas. With the environment
variable CANCEL_AFTER_FIRST=N a C-CANCEL-RQ naming message N is sent
while the first instance is being received (the C-GET is message 1; 0
sends none); with NO_ROLE=1 the CT context is proposed
without taking the SCP role for it (no role selection). Exits 0 when the
association could be established.
"""

import hashlib
import json
import os
import sys

from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_role, evt
from _dimse import application_entity, associate, failed_uids, identifier, sub_operations
from pynetdicom.sop_class import (
    CTImageStorage,
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelGet,
)


CANCELLED = []
MODEL = []


def on_store(event):
    cancel = int(os.environ.get("CANCEL_AFTER_FIRST", "0"))
    if cancel and not CANCELLED:
        get_context = next(
            cx for cx in event.assoc.accepted_contexts if cx.abstract_syntax == MODEL[0]
        )
        event.assoc.send_c_cancel(cancel, get_context.context_id)
        CANCELLED.append(True)
    ds = event.dataset
    ds.file_meta = event.file_meta
    print(
        json.dumps(
            {
                "stored": str(ds.SOPInstanceUID),
                "transfer_syntax": str(event.context.transfer_syntax),
                "pixel_sha256": hashlib.sha256(ds.PixelData).hexdigest(),
                "patient_name": str(ds.PatientName),
            }
        ),
        flush=True,
    )
    return 0x0000


def main() -> int:
    host, port, called, model, level, ts, *keys = sys.argv[1:]
    model = {
        "patient": PatientRootQueryRetrieveInformationModelGet,
        "study": StudyRootQueryRetrieveInformationModelGet,
    }[model]
    MODEL.append(model)
    named = {"implicit": ImplicitVRLittleEndian, "explicit": ExplicitVRLittleEndian}
    syntaxes = [named.get(t, t) for t in ts.split(",")]
    ae = application_entity("PYGET")
    ae.add_requested_context(model)
    ae.add_requested_context(CTImageStorage, syntaxes)
    query = identifier(level, keys)
    assoc = associate(
        ae,
        host,
        port,
        called,
        ext_neg=[]
        if os.environ.get("NO_ROLE") == "1"
        else [build_role(CTImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    if not assoc.is_established:
        print("association failed", file=sys.stderr)
        return 1
    for status, answer in assoc.send_c_get(query, model):
        if not status:
            print(json.dumps({"status": None}), flush=True)
            continue
        print(json.dumps({**sub_operations(status), "failed_uids": failed_uids(answer)}), flush=True)
    assoc.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
