"""Runs one C-MOVE with pynetdicom and prints each response, one JSON
object per line: {"status": ..., "remaining": n, "completed": n,
"failed": n, "warning": n, "failed_uids": [...]}.

usage: move.py HOST PORT CALLED_AET DESTINATION LEVEL [KEYWORD=VALUE...]

Exits 0 when the association could be established.
"""

import json
import sys

from _dimse import application_entity, associate, failed_uids, identifier, sub_operations
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove


def main() -> int:
    host, port, called, destination, level, *keys = sys.argv[1:]
    ae = application_entity("PYMOVE")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    query = identifier(level, keys)
    assoc = associate(ae, host, port, called)
    if not assoc.is_established:
        print("association failed", file=sys.stderr)
        return 1
    model = StudyRootQueryRetrieveInformationModelMove
    for status, answer in assoc.send_c_move(query, destination, model):
        if not status:
            print(json.dumps({"status": None}), flush=True)
            continue
        said = {
            **sub_operations(status),
            "failed_uids": failed_uids(answer),
            "comment": status.get("ErrorComment"),
        }
        print(json.dumps(said), flush=True)
    assoc.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
