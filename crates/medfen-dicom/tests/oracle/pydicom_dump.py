#!/usr/bin/env python3
"""Dumps pydicom's decoding of its own bundled test files, for medfen's oracle test.

Usage: pydicom_dump.py OUT_DIR [FILE...]

For every file under pydicom/data/test_files (or every FILE given) that pydicom reads, writes
OUT_DIR/<n>.stored (pixel_array as little-endian int64) and OUT_DIR/<n>.hu
(the expected modality-LUT output as little-endian float64), and prints one JSON line
per file: {"file", "ts", "status", ...}. The expected HU follows medfen's documented
rules on top of pydicom's apply_modality_lut: the Modality LUT alone, whatever the
Photometric Interpretation (MONOCHROME1 is a display attribute, PS3.3 C.11.1), and Pixel
Padding values become -1024 (air).
"""
import json
import os
import sys

import numpy as np
import pydicom
import pydicom.data
from pydicom.pixels import apply_modality_lut

out_dir = sys.argv[1]
if len(sys.argv) > 2:
    files = sys.argv[2:]
    root = os.path.commonpath([os.path.dirname(f) for f in files])
else:
    root = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
for n, path in enumerate(files):
    rec = {"file": os.path.relpath(path, root), "path": path}
    try:
        ds = pydicom.dcmread(path)
    except Exception as e:  # not DICOM to pydicom either
        rec["status"] = f"pydicom cannot read: {type(e).__name__}"
        print(json.dumps(rec), flush=True)
        continue
    rec["ts"] = str(getattr(ds.file_meta, "TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    if "PixelData" not in ds:
        rec["status"] = "no pixel data"
        print(json.dumps(rec), flush=True)
        continue
    try:
        arr = ds.pixel_array
    except Exception as e:
        rec["status"] = f"pydicom cannot decode: {type(e).__name__}: {str(e)[:80]}"
        print(json.dumps(rec), flush=True)
        continue
    rec["status"] = "decoded"
    rec["shape"] = list(arr.shape)
    rec["samples"] = int(ds.get("SamplesPerPixel", 1))
    rec["photometric"] = str(ds.get("PhotometricInterpretation", ""))
    if rec["samples"] == 1 and rec["photometric"] in ("MONOCHROME1", "MONOCHROME2"):
        stored = arr.astype(np.int64)
        try:
            hu = np.asarray(apply_modality_lut(stored, ds), dtype=np.float64)
        except Exception as e:
            rec["status"] = f"pydicom cannot apply the modality LUT: {type(e).__name__}"
            print(json.dumps(rec), flush=True)
            continue
        if "PixelPaddingValue" in ds:
            lo = int(ds.PixelPaddingValue)
            hi = int(ds.get("PixelPaddingRangeLimit", lo))
            lo, hi = min(lo, hi), max(lo, hi)
            hu = np.where((stored >= lo) & (stored <= hi), -1024.0, hu)
        stored.astype("<i8").tofile(os.path.join(out_dir, f"{n}.stored"))
        hu.astype("<f8").tofile(os.path.join(out_dir, f"{n}.hu"))
        rec["dumped"] = n
    print(json.dumps(rec), flush=True)
