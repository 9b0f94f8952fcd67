#!/usr/bin/env python3
"""Dumps nibabel's reading of its own NIfTI test files, for medfen's oracle test.

Usage: nibabel_dump.py OUT_DIR

For each .nii / .nii.gz under nibabel/tests/data that nibabel loads as a 3D image
(or 4D with one volume), writes OUT_DIR/<n>.f32: the data reoriented to the closest
canonical RAS orientation, then to medfen's layout ([z, y, x] with x towards the
patient's left and y posterior), as little-endian float32. Prints one JSON line per
file with the shape and the expected LPS position of voxel [0,0,0] and of the unit
steps along z, y and x.
"""
import glob
import json
import os
import sys

import nibabel as nib
import numpy as np

out_dir = sys.argv[1]
root = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
files = sorted(glob.glob(os.path.join(root, "*.nii")) + glob.glob(os.path.join(root, "*.nii.gz")))
for n, path in enumerate(files):
    rec = {"file": os.path.basename(path), "path": path}
    try:
        img = nib.load(path)
    except Exception as e:
        rec["status"] = f"nibabel cannot load: {type(e).__name__}"
        print(json.dumps(rec), flush=True)
        continue
    shape = img.shape
    if len(shape) == 4 and shape[3] == 1:
        img = img.slicer[..., 0]
        shape = img.shape
    if len(shape) != 3:
        rec["status"] = f"{len(shape)}D image {list(shape)}"
        print(json.dumps(rec), flush=True)
        continue
    hdr = img.header
    if int(hdr["sform_code"]) == 0 and int(hdr["qform_code"]) == 0:
        rec["status"] = "no sform/qform: nibabel uses the Analyze convention"
        print(json.dumps(rec), flush=True)
        continue
    try:
        canon = nib.as_closest_canonical(img)
        ras = np.asarray(canon.get_fdata(), dtype=np.float64)
    except Exception as e:
        rec["status"] = f"nibabel cannot read the data: {type(e).__name__}: {e}"
        print(json.dumps(rec), flush=True)
        continue
    nx, ny, nz = ras.shape
    # medfen: array [z][y][x]; x index increases towards L (= reversed RAS i),
    # y towards P (= reversed RAS j), z towards S (= RAS k).
    lps_arr = ras[::-1, ::-1, :].transpose(2, 1, 0)
    lps_arr.astype("<f4").tofile(os.path.join(out_dir, f"{n}.f32"))
    A = canon.affine
    flip = np.diag([-1.0, -1.0, 1.0])

    def lps(z, y, x):
        i, j, k = nx - 1 - x, ny - 1 - y, z
        return (flip @ (A @ np.array([i, j, k, 1.0]))[:3]).tolist()

    rec.update(status="dumped", dumped=n, shape=[nz, ny, nx], origin=lps(0, 0, 0),
               z1=lps(1, 0, 0), y1=lps(0, 1, 0), x1=lps(0, 0, 1))
    print(json.dumps(rec), flush=True)
