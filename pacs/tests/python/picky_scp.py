"""A DICOM node that answers associations but takes no storage SOP class
(Verification only), until it is killed.

usage: picky_scp.py PORT AE_TITLE
"""

import sys

from pynetdicom import AE
from pynetdicom.sop_class import Verification


def main() -> int:
    port, ae_title = sys.argv[1:]
    ae = AE(ae_title=ae_title)
    ae.add_supported_context(Verification)
    ae.start_server(("127.0.0.1", int(port)), block=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
