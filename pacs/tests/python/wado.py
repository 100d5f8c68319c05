"""WADO-RS with dicomweb-client.

Usage: wado.py BASE_URL OPERATIONS_JSON

Each operation is an object with "op" and its arguments; the result of
each is printed, in order, as one JSON list on stdout:

- retrieve_instance / retrieve_series / retrieve_study (study, series,
  sop, media_types): a summary of each returned data set (SOP Instance
  UID, transfer syntax from its file meta group, patient name, SHA-256 of
  the Pixel Data value and of the decoded samples as little-endian
  16-bit words);
- series_metadata (study, series): the metadata as returned;
- bulkdata (url): length and SHA-256 of each returned part;
- frames (study, series, sop, frames, media_types): length and SHA-256 of
  each frame;
- rendered (study, series, sop, media_type, params): the decoded image's
  format, mode, size and every pixel value.
"""
import hashlib
import io
import json
import sys

from _client import client as make_client
from PIL import Image


def sha256(data: bytes) -> str:
    return hashlib.sha256(bytes(data)).hexdigest()


def summary(ds) -> dict:
    return {
        "sop": str(ds.SOPInstanceUID),
        "ts": str(ds.file_meta.TransferSyntaxUID),
        "patient_name": str(ds.get("PatientName", "")),
        "pixel_sha256": sha256(ds.PixelData) if "PixelData" in ds else None,
        "samples_sha256": sha256(ds.pixel_array.astype("<u2").tobytes())
        if "PixelData" in ds
        else None,
    }


def media_types(value):
    if value is None:
        return None
    return tuple(m if isinstance(m, str) else tuple(m) for m in value)


def run(client, op: dict):
    kind = op["op"]
    types = media_types(op.get("media_types"))
    if kind == "retrieve_instance":
        ds = client.retrieve_instance(
            op["study"], op["series"], op["sop"], media_types=types
        )
        return summary(ds)
    if kind == "retrieve_series":
        found = client.retrieve_series(op["study"], op["series"], media_types=types)
        return [summary(ds) for ds in found]
    if kind == "retrieve_study":
        return [summary(ds) for ds in client.retrieve_study(op["study"], media_types=types)]
    if kind == "series_metadata":
        return client.retrieve_series_metadata(op["study"], op["series"])
    if kind == "bulkdata":
        parts = client.retrieve_bulkdata(op["url"])
        return [{"len": len(p), "sha256": sha256(p)} for p in parts]
    if kind == "frames":
        frames = client.retrieve_instance_frames(
            op["study"],
            op["series"],
            op["sop"],
            frame_numbers=op["frames"],
            media_types=types,
        )
        return [{"len": len(f), "sha256": sha256(f)} for f in frames]
    if kind == "rendered":
        data = client.retrieve_instance_rendered(
            op["study"],
            op["series"],
            op["sop"],
            media_types=(op["media_type"],),
            params=op.get("params"),
        )
        image = Image.open(io.BytesIO(data))
        image.load()
        return {
            "format": image.format,
            "mode": image.mode,
            "size": list(image.size),
            "pixels": list(image.getdata()),
        }
    raise SystemExit(f"unknown operation {kind!r}")


def main() -> None:
    base, ops = sys.argv[1], json.loads(sys.argv[2])
    client = make_client(base)
    print(json.dumps([run(client, op) for op in ops], ensure_ascii=False))


if __name__ == "__main__":
    main()
