"""Writes an 8-bit copy of a 16-bit MONOCHROME2 image, for encoders that
need 8-bit input (baseline JPEG).

Usage: to_8bit.py SOURCE DESTINATION

Stored values are shifted right so that Bits Stored becomes 8; the
windows are dropped (a viewer then uses the full range). The SOP Instance
UID gets a suffix so that the copy is a distinct instance. Prints {} on
success.
"""
import sys

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian


def main() -> None:
    source, destination = sys.argv[1:]
    ds = pydicom.dcmread(source)
    pixels = ds.pixel_array.astype(np.uint16)
    shift = int(ds.BitsStored) - 8
    eight = (pixels >> shift).astype(np.uint8)
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = eight.tobytes()
    ds["PixelData"].VR = "OB"
    for keyword in ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation"):
        if keyword in ds:
            del ds[keyword]
    uid = str(ds.SOPInstanceUID) + ".8"
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(destination, enforce_file_format=True)
    print("{}")


if __name__ == "__main__":
    main()
