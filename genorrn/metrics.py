"""Per-class metrics for rare-site labelling (SpliceAI's top-k accuracy and PR-AUC). Pure numpy."""

from __future__ import annotations

import numpy as np


def average_precision(truth: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision (step-wise, no interpolation),
    the definition scikit-learn's ``average_precision_score`` uses; ties are broken stably."""
    truth = np.asarray(truth, bool)
    positives = int(truth.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = truth[order]
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    return float(precision[hits].sum() / positives)


def top_k_accuracy(truth: np.ndarray, scores: np.ndarray) -> float:
    """With k the number of true sites, the fraction of the k highest-scoring positions that are
    true sites (SpliceAI's top-k accuracy)."""
    truth = np.asarray(truth, bool)
    k = int(truth.sum())
    if k == 0:
        return float("nan")
    top = np.argpartition(-np.asarray(scores), k - 1)[:k]
    return float(truth[top].mean())


def calls_at(truth: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """What calling every position with score >= ``threshold`` gives (as ``predict splice``'s
    sites BED does): the number called, precision and recall (None when undefined)."""
    truth = np.asarray(truth, bool)
    called = np.asarray(scores) >= threshold
    hits = int((called & truth).sum())
    return {
        "threshold": threshold,
        "called": int(called.sum()),
        "precision": round(hits / called.sum(), 4) if called.any() else None,
        "recall": round(hits / truth.sum(), 4) if truth.any() else None,
    }


def site_metrics(
    labels: np.ndarray, probs: np.ndarray, classes: dict[int, str], threshold: float = 0.5
) -> dict:
    """``{class name: {"top_k", "pr_auc", "sites", "calls"}}`` for the given class indices;
    ``calls``: :func:`calls_at` ``threshold``."""
    out = {}
    for index, name in classes.items():
        truth = labels == index
        out[name] = {
            "top_k": round(top_k_accuracy(truth, probs[:, index]), 4),
            "pr_auc": round(average_precision(truth, probs[:, index]), 4),
            "sites": int(truth.sum()),
            "calls": calls_at(truth, probs[:, index], threshold),
        }
    return out
