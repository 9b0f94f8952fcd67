#!/usr/bin/env python3
"""The Python baseline of `cargo xtask bench dicom`, on the files the Rust bench wrote.

  dicom_pydicom.py convert DIR   writes DIR/j2k: DIR/el recompressed as JPEG 2000 lossless
  dicom_pydicom.py measure DIR   times each series folder under DIR; one JSON line per stage
  dicom_pydicom.py save SERIES OUT.npy   what `medfen volume SERIES --out OUT.npy` does:
                                 the float32 volume in slice order, saved with np.save
                                 (timed end to end by the caller, imports included)

Stages (single-threaded, best of three), as medfen's:
  header    pydicom.dcmread(stop_before_pixels=True) of every file
  decode    dcmread + pixel_array + apply_modality_lut of every file (pylibjpeg plugins)
  assemble  read every file, order by ImagePositionPatient along the slice normal,
            stack the modality-LUT output into one int16 volume
"""
import json
import os
import sys
import time

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut
from pydicom.uid import JPEG2000Lossless


def files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d))


def convert(root):
    out = os.path.join(root, "j2k")
    os.makedirs(out, exist_ok=True)
    for f in files(os.path.join(root, "el")):
        ds = pydicom.dcmread(f)
        ds.compress(JPEG2000Lossless)
        ds.save_as(os.path.join(out, os.path.basename(f)))


def header(fs):
    for f in fs:
        pydicom.dcmread(f, stop_before_pixels=True)


def decode(fs):
    for f in fs:
        ds = pydicom.dcmread(f)
        apply_modality_lut(ds.pixel_array, ds)


def assemble(fs):
    slices = []
    for f in fs:
        ds = pydicom.dcmread(f)
        iop = np.array(ds.ImageOrientationPatient, dtype=float)
        normal = np.cross(iop[:3], iop[3:])
        z = float(np.dot(normal, np.array(ds.ImagePositionPatient, dtype=float)))
        slices.append((z, apply_modality_lut(ds.pixel_array, ds)))
    slices.sort(key=lambda s: s[0])
    return np.stack([s[1] for s in slices]).astype(np.int16)


def best_of_three(fn, fs):
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        fn(fs)
        best = min(best, time.perf_counter() - t)
    return best


def measure(root):
    for syntax in sorted(os.listdir(root)):
        d = os.path.join(root, syntax)
        if not os.path.isdir(d):
            continue
        fs = files(d)
        for stage, fn in (("header", header), ("decode", decode), ("assemble", assemble)):
            print(json.dumps({"syntax": syntax, "stage": stage, "threads": 1, "slices": len(fs),
                              "seconds": best_of_three(fn, fs)}), flush=True)


def save(series, out):
    slices = []
    for f in files(series):
        ds = pydicom.dcmread(f)
        iop = np.array(ds.ImageOrientationPatient, dtype=float)
        normal = np.cross(iop[:3], iop[3:])
        z = float(np.dot(normal, np.array(ds.ImagePositionPatient, dtype=float)))
        slices.append((z, apply_modality_lut(ds.pixel_array, ds).astype(np.float32)))
    slices.sort(key=lambda s: s[0])
    np.save(out, np.stack([s[1] for s in slices]))


if __name__ == "__main__":
    {"convert": convert, "measure": measure, "save": save}[sys.argv[1]](*sys.argv[2:])
