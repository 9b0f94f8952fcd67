#!/usr/bin/env python3
"""The Python baseline of `cargo xtask bench metrics`: 2000 exam-clustered bootstrap
replicates of AUROC + AP + sensitivity@95%specificity with scikit-learn, in a Python
loop, on the same data files the Rust bench wrote.

A replicate draws exams with replacement and keeps each drawn exam as many times as it
was drawn (the correct cluster bootstrap), stratified by class profile like medfen.

Usage: metrics_sklearn.py DATA_DIR N_EXAMS [N_EXAMS ...]  -> one JSON line per size.
"""
import json
import math
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

REPLICATES = 2000


def sens_at_spec(y, s, target=0.95):
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    n_neg = (y == 0).sum()
    allowed = math.floor((1 - target) * n_neg + 1e-9 * max(1, n_neg))
    return tpr[np.round(fpr * n_neg) <= allowed].max()


def run(path):
    df = pd.read_csv(path)
    y = df["label"].to_numpy()
    s = df["score"].to_numpy()
    exams = df["exam"].to_numpy()
    order = np.argsort(exams, kind="stable")
    y, s, exams = y[order], s[order], exams[order]
    uniq, start, counts = np.unique(exams, return_index=True, return_counts=True)
    rows = [np.arange(a, a + c) for a, c in zip(start, counts)]
    has_pos = np.array([y[r].any() for r in rows])
    has_neg = np.array([(~y[r].astype(bool)).any() for r in rows])
    strata = [np.flatnonzero((has_pos == p) & (has_neg == q)) for p in (False, True) for q in (False, True)]
    strata = [st for st in strata if len(st)]
    rng = np.random.default_rng(42)
    estimate = (roc_auc_score(y, s), average_precision_score(y, s), sens_at_spec(y, s))
    started = time.perf_counter()
    for _ in range(REPLICATES):
        drawn = np.concatenate([st[rng.integers(0, len(st), len(st))] for st in strata])
        idx = np.concatenate([rows[k] for k in drawn])
        yb, sb = y[idx], s[idx]
        roc_auc_score(yb, sb)
        average_precision_score(yb, sb)
        sens_at_spec(yb, sb)
    seconds = time.perf_counter() - started
    return {"exams": len(uniq), "replicates": REPLICATES, "seconds": seconds,
            "auroc": estimate[0], "average_precision": estimate[1], "sens_at_95_spec": estimate[2]}


if __name__ == "__main__":
    data_dir = sys.argv[1]
    for n in sys.argv[2:]:
        print(json.dumps(run(f"{data_dir}/exams_{n}.csv")), flush=True)
