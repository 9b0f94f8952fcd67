"""The original pipeline's ear cache in Python, for `cargo xtask bench cache`.

Per ear, as medical_fenlei's ear dataset did with its defaults: list the series files,
take 32 evenly spaced ones, read each with pydicom, convert to HU, split the image at
the middle column, mirror the right half, crop 192 px around the half's centre, resize
to 224 with bilinear interpolation at half-pixel centres (PyTorch align_corners=False;
numpy here, as torch is not installed), and save float16 .npy. The two ears of an exam
are built independently (each reads its slices again), as in the original.

usage: cache_python.py EXAMS_CSV DICOM_ROOT OUT_DIR
prints one JSON line: {"exams": N, "seconds": S}
"""
import json
import os
import sys
import time

import numpy as np
import pydicom


def resize_bilinear(img, out):
    h, w = img.shape
    ys = (np.arange(out) + 0.5) * (h / out) - 0.5
    xs = (np.arange(out) + 0.5) * (w / out) - 0.5
    ys = np.clip(ys, 0, h - 1)
    xs = np.clip(xs, 0, w - 1)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def ear(files, side, out_path, k=32, crop=192, size=224):
    n = len(files)
    idx = np.linspace(0, n - 1, k).astype(int)
    stack = []
    for i in idx:
        ds = pydicom.dcmread(files[i])
        hu = ds.pixel_array.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1)) + float(
            getattr(ds, "RescaleIntercept", 0)
        )
        mid = hu.shape[1] // 2
        half = hu[:, :mid] if side == "left" else hu[:, mid:][:, ::-1]
        cy, cx = half.shape[0] // 2, half.shape[1] // 2
        padded = np.full((half.shape[0] + crop, half.shape[1] + crop), -1024.0, np.float32)
        padded[crop // 2 : crop // 2 + half.shape[0], crop // 2 : crop // 2 + half.shape[1]] = half
        patch = padded[cy : cy + crop, cx : cx + crop]
        stack.append(resize_bilinear(patch, size))
    np.save(out_path, np.stack(stack).astype(np.float16))


def main():
    exams_csv, root, out = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    import csv

    rows = list(csv.DictReader(open(exams_csv)))
    start = time.perf_counter()
    for r in rows:
        d = os.path.join(root, r["series_dir"])
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith(".dcm"))
        for side in ("left", "right"):
            ear(files, side, os.path.join(out, f"{r['exam_id']}_{side}.npy"))
    print(json.dumps({"exams": len(rows), "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
