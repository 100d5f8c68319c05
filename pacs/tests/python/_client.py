"""The dicomweb-client instance the test scripts share."""
from urllib.parse import urlsplit

from dicomweb_client.api import DICOMwebClient


def client(base_url: str) -> DICOMwebClient:
    """A client of the DICOMweb service at `base_url`.

    dicomweb-client sets the Host header itself, to the URL's host name
    without the port. The archive builds RetrieveURL and BulkDataURI values
    from Host (unless a public URL is configured), so the client is given
    the whole authority, as browsers and other clients send it.
    """
    c = DICOMwebClient(url=base_url)
    c.host = urlsplit(base_url).netloc
    return c
