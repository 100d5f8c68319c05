"""Sends Part 10 files over one association with pynetdicom, the data set
bytes exactly as they are in each file (after its file meta group), with
the command's SOP Class and Instance UIDs taken from the file meta group.
That lets a test send data sets that no well-behaved SCU would: truncated
ones, random bytes, or ones whose SOP Instance UID differs from the
command's.

usage: store_raw.py HOST PORT CALLED_AET CALLING_AET FILE...

Prints one line per file, `status FILE 0xXXXX` (or `status FILE none`
when no response came), then `echo 0xXXXX` for a C-ECHO on the same
association when it is still up, and exits 0 when the association could
be established.
"""

import sys

from _dimse import application_entity, associate
from pydicom import config as pydicom_config
from pynetdicom import _config
from pynetdicom.dsutils import split_dataset
from pynetdicom.sop_class import Verification

# Send each data set straight from its file, unparsed and unchanged.
_config.STORE_SEND_CHUNKED_DATASET = True
# The point is to send invalid values: do not let pydicom refuse them.
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE


def main() -> int:
    host, port, called, calling, *files = sys.argv[1:]
    ae = application_entity(calling)
    contexts = set()
    for f in files:
        meta, _ = split_dataset(f)
        contexts.add((str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID)))
    for sop_class, ts in sorted(contexts):
        ae.add_requested_context(sop_class, [ts])
    ae.add_requested_context(Verification)
    assoc = associate(ae, host, port, called)
    if not assoc.is_established:
        print("association refused", flush=True)
        return 1
    for f in files:
        status = assoc.send_c_store(f) if assoc.is_established else None
        if status is not None and "Status" in status:
            print(f"status {f} 0x{status.Status:04X}", flush=True)
        else:
            print(f"status {f} none", flush=True)
    if assoc.is_established:
        echo = assoc.send_c_echo()
        if echo is not None and "Status" in echo:
            print(f"echo 0x{echo.Status:04X}", flush=True)
        else:
            print("echo none", flush=True)
        assoc.release()
    else:
        print("echo none", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
