"""Metrics of every task. Pure numpy.

* Rare-site labelling (splice): SpliceAI's top-k accuracy, PR-AUC (average precision), calls at
  a threshold.
* Per-residue classes (secondary structure): confusion matrices, accuracy and per-class
  precision/recall, SOV'99 segment overlap, Q3/Q8 reports of chains.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from genorrn.alphabets import SS3_CLASSES, SS8_CLASSES
from genorrn.calibration import brier, ece, reliability
from genorrn.encoding import q3_from_q8


def average_precision(truth: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision (step-wise, no interpolation),
    exactly scikit-learn's ``average_precision_score``: one threshold per distinct score, so
    positions with tied scores enter together (their order does not matter)."""
    truth = np.asarray(truth, bool)
    positives = int(truth.sum())
    if positives == 0:
        return float("nan")
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], truth[order]
    last = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), len(ranked) - 1]  # end of each tie
    tp = np.cumsum(hits)[last]
    precision = tp / (last + 1)
    recall_gain = np.diff(np.r_[0, tp]) / positives
    return float((recall_gain * precision).sum())


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
    labels: np.ndarray, probs: np.ndarray, classes: dict[int, str], threshold: float = 0.5,
    ece_floor: float = 0.01,
) -> dict:
    """``{class name: {"top_k", "pr_auc", "sites", "calls", "ece", "brier", "reliability"}}``
    for the given class indices; ``calls``: :func:`calls_at` ``threshold``; ``ece`` and
    ``reliability`` over the positions whose probability is >= ``ece_floor``
    (:mod:`genorrn.calibration`)."""
    out = {}
    for index, name in classes.items():
        truth = labels == index
        out[name] = {
            "top_k": round(top_k_accuracy(truth, probs[:, index]), 4),
            "pr_auc": round(average_precision(truth, probs[:, index]), 4),
            "sites": int(truth.sum()),
            "calls": calls_at(truth, probs[:, index], threshold),
        } | calibration_report(truth, probs[:, index], ece_floor)
    return out


def calibration_report(truth: np.ndarray, prob: np.ndarray, floor: float = 0.0) -> dict:
    """``{"ece", "brier", "reliability"}`` of one class (10 bins over ``[floor, 1]``)."""
    rows = reliability(truth, prob, bins=10, min_prob=floor)
    score = ece(truth, prob, bins=10, min_prob=floor)
    return {"ece": None if np.isnan(score) else round(score, 4),
            "brier": round(brier(truth, prob), 6), "ece_floor": floor,
            "reliability": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
                            for r in rows]}  # fmt: skip


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """``(k, k)`` counts, rows = true class, columns = predicted class."""
    return np.bincount(truth.astype(np.int64) * k + pred, minlength=k * k).reshape(k, k)


def class_report(matrix: np.ndarray, classes: str) -> dict:
    """Accuracy, per-class precision/recall/support and the confusion matrix."""
    total = matrix.sum()
    out = {"accuracy": round(float(np.trace(matrix) / total), 4) if total else None,
           "residues": int(total), "per_class": {}}  # fmt: skip
    for i, name in enumerate(classes):
        predicted, actual = matrix[:, i].sum(), matrix[i].sum()
        out["per_class"][name] = {
            "precision": round(float(matrix[i, i] / predicted), 4) if predicted else None,
            "recall": round(float(matrix[i, i] / actual), 4) if actual else None,
            "support": int(actual),
        }
    out["confusion"] = {"rows_true_cols_pred": classes, "matrix": matrix.tolist()}
    return out


def _segments(states: str, state: str) -> list[tuple[int, int]]:
    """``[start, end)`` runs of ``state`` in ``states``."""
    runs, start = [], None
    for i, s in enumerate(states + "\0"):
        if s == state and start is None:
            start = i
        elif s != state and start is not None:
            runs.append((start, i))
            start = None
    return runs


def sov99(observed: str, predicted: str, states: str = SS3_CLASSES) -> tuple[float, int]:
    """Segment overlap (SOV'99, Zemla et al. 1999) of one chain as ``(sum, N)``; the score is
    ``100 * sum / N``. Positions marked ``-`` in ``observed`` are not scored: they break
    segments, in the observed and the predicted string alike."""
    if len(observed) != len(predicted):
        raise ValueError("observed and predicted differ in length")
    predicted = "".join("-" if o == "-" else p for o, p in zip(observed, predicted))
    total, norm = 0.0, 0
    for state in states:
        predicted_runs = _segments(predicted, state)
        for a0, a1 in _segments(observed, state):
            len1 = a1 - a0
            overlapping = [(b0, b1) for b0, b1 in predicted_runs if b0 < a1 and a0 < b1]
            if not overlapping:
                norm += len1
                continue
            for b0, b1 in overlapping:
                len2 = b1 - b0
                minov = min(a1, b1) - max(a0, b0)
                maxov = max(a1, b1) - min(a0, b0)
                delta = min(maxov - minov, minov, len1 // 2, len2 // 2)
                total += (minov + delta) / maxov * len1
                norm += len1
    return total, norm


def score_chains(chains: Iterable, probs: Iterable[np.ndarray]) -> dict:
    """Q3 (and Q8 where Q8 labels exist) of ``(L, 8)`` probabilities against chains (``.q3``,
    ``.q8``: per-residue class or -1) over the scored residues (label ``>= 0``), the Q3
    SOV'99 averaged over chains (``sov99_q3``, unscored residues break segments), and per
    class ECE / Brier score / reliability bins over every scored residue."""
    m3 = np.zeros((3, 3), np.int64)
    m8 = np.zeros((8, 8), np.int64)
    sovs = []
    scored = {"q3": ([], []), "q8": ([], [])}  # per level: true classes, probabilities
    for chain, p8 in zip(chains, probs):
        p8 = np.asarray(p8)
        keep3 = chain.q3 >= 0
        if keep3.any():
            p3 = q3_from_q8(p8)
            pred3 = p3.argmax(-1)
            m3 += confusion_matrix(chain.q3[keep3], pred3[keep3], 3)
            observed = "".join(SS3_CLASSES[k] if k >= 0 else "-" for k in chain.q3)
            total, norm = sov99(observed, "".join(SS3_CLASSES[k] for k in pred3))
            if norm:
                sovs.append(100.0 * total / norm)
            scored["q3"][0].append(chain.q3[keep3])
            scored["q3"][1].append(p3[keep3])
        keep8 = chain.q8 >= 0
        if keep8.any():
            m8 += confusion_matrix(chain.q8[keep8], p8[keep8].argmax(-1), 8)
            scored["q8"][0].append(chain.q8[keep8])
            scored["q8"][1].append(p8[keep8])
    report = {"q3": class_report(m3, SS3_CLASSES)}
    report["q3"]["sov99_mean_per_chain"] = round(float(np.mean(sovs)), 2) if sovs else None
    if m8.sum():
        report["q8"] = class_report(m8, SS8_CLASSES)
    for level, classes in (("q3", SS3_CLASSES), ("q8", SS8_CLASSES)):
        truths, probabilities = scored[level]
        if level in report and truths:
            truth, prob = np.concatenate(truths), np.concatenate(probabilities)
            for i, name in enumerate(classes):
                report[level]["per_class"][name] |= calibration_report(truth == i, prob[:, i])
    return report
