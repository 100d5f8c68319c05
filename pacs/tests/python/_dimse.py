"""What the pynetdicom test scripts share: an application entity with
bounded waits, the query identifier from KEYWORD=VALUE arguments, and the
sub-operation counts and failed instances of a retrieve response."""

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pynetdicom import AE


def application_entity(ae_title: str) -> AE:
    """An AE whose every wait (association, DIMSE, network) is bounded."""
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    return ae


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
