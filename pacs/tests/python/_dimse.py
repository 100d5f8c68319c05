"""What the pynetdicom test scripts share: an application entity with
bounded waits and its associations, the query identifier from
KEYWORD=VALUE arguments, and the sub-operation counts and failed instances
of a retrieve response."""

import logging

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pynetdicom import AE


def application_entity(ae_title: str) -> AE:
    """An AE whose every wait (association, DIMSE, network) is bounded.
    pynetdicom's warnings go to stderr, which a failing test shows."""
    logging.basicConfig(level=logging.WARNING)
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    return ae


def associate(ae: AE, host: str, port: str, called: str, **kwargs):
    """`ae.associate`, with a race in pynetdicom closed.

    Beside the caller of `send_c_*()`, pynetdicom runs a reactor thread that
    takes messages off the association's queue to serve the peer's
    requests. `send_c_*()` pauses it before sending, but the pause has a
    window: now and then the reactor takes the peer's response itself,
    logs "Received unexpected ... service message" and drops it, and the
    caller waits out its whole DIMSE timeout for an answer that came at
    once. These scripts serve no requests outside their own `send_c_*()`
    calls, which read every message the peer sends, the C-STOREs of a C-GET
    included: the reactor is kept off the queue."""
    assoc = ae.associate(host, int(port), ae_title=called, **kwargs)
    if assoc.is_established:
        take = assoc.dimse.get_msg
        # The reactor is the only caller that does not block.
        assoc.dimse.get_msg = lambda block=False: take(block) if block else (None, None)
    return assoc


def identifier(level: str, keys: list, charset: str = None) -> Dataset:
    """A query identifier at `level`; each KEYWORD=VALUE adds a key (an
    empty VALUE asks for it to be returned)."""
    query = Dataset()
    if charset:
        query.SpecificCharacterSet = charset
    query.QueryRetrieveLevel = level
    for key in keys:
        keyword, _, value = key.partition("=")
        setattr(query, keyword, value)
    return query


def sub_operations(status: Dataset) -> dict:
    """The status and sub-operation counts of a C-GET or C-MOVE response."""
    return {
        "status": f"0x{status.Status:04X}",
        "remaining": status.get("NumberOfRemainingSuboperations"),
        "completed": status.get("NumberOfCompletedSuboperations"),
        "failed": status.get("NumberOfFailedSuboperations"),
        "warning": status.get("NumberOfWarningSuboperations"),
    }


def failed_uids(answer) -> list:
    """The Failed SOP Instance UID List of a C-GET or C-MOVE response's
    identifier, empty when there is none."""
    if answer is None or "FailedSOPInstanceUIDList" not in answer:
        return []
    value = answer.FailedSOPInstanceUIDList
    values = value if isinstance(value, MultiValue) else [value]
    return [str(u) for u in values]
