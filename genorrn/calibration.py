"""Probability calibration: per-class temperatures fitted on validation data, and the measures
that say whether probabilities mean what they say (ECE, Brier score, reliability curves).

**Per-class temperature.** A labeller outputs softmax probabilities ``p``. With ``z = log p``
(the logits up to a constant per position), calibrated probabilities are
``softmax(z_c / T_c)``: one temperature per class, fitted by minimising the negative
log-likelihood of the true classes on validation positions. ``T_c > 1`` softens class ``c``,
``T_c < 1`` sharpens it; all ``T_c = 1`` is the identity. Pure numpy.

**ECE** (expected calibration error) of one class: positions whose probability for that class
is at least ``min_prob`` are put into ``bins`` equal-width bins over ``[min_prob, 1]``;
``ECE = Σ_b (n_b / n) · |mean probability_b − fraction true_b|``. For splice sites
``min_prob = 0.01`` keeps the millions of near-zero positions from hiding the error; for
secondary structure every residue counts (``min_prob = 0``).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def apply_temperatures(probs: np.ndarray, temperatures) -> np.ndarray:
    """``softmax(log(probs) / T)`` over the last axis, ``T`` one value per class."""
    t = np.asarray(temperatures, np.float64)
    z = np.log(np.clip(np.asarray(probs, np.float64), EPS, 1.0)) / t
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def _nll_and_grad(log_t: np.ndarray, z: np.ndarray, allowed: np.ndarray, weights: np.ndarray):
    """Mean weighted ``-log Σ_{c allowed} q_c`` with ``q = softmax(z / exp(log_t))``, and its
    gradient in ``log_t``."""
    t = np.exp(log_t)
    s = z / t
    s -= s.max(axis=1, keepdims=True)
    q = np.exp(s)
    q /= q.sum(axis=1, keepdims=True)
    inside = (q * allowed).sum(axis=1)
    w = weights / weights.sum()
    nll = -(w * np.log(np.clip(inside, EPS, 1.0))).sum()
    # d nll / d s_c = q_c - r_c with r the allowed part of q renormalised;
    # d s_c / d log_t_c = -z_c / t_c
    r = q * allowed / np.clip(inside, EPS, None)[:, None]
    grad = -(((q - r) * w[:, None]) * (z / t)).sum(axis=0)
    return nll, grad


def fit_temperatures(probs: np.ndarray, labels: np.ndarray | None = None, *,
                     allowed: np.ndarray | None = None, weights: np.ndarray | None = None,
                     steps: int = 500, lr: float = 0.05) -> np.ndarray:  # fmt: skip
    """Per-class temperatures minimising the negative log-likelihood of the truth under the
    calibrated ``probs`` (``(N, C)``). The truth is ``labels`` (``(N,)`` class indices) or
    ``allowed`` (``(N, C)`` 0/1: the likelihood is the summed probability of the allowed
    classes, e.g. a Q3 label of a Q8 model). Optional ``(N,)`` position ``weights``. Adam on
    ``log T`` (so ``T > 0``) from ``T = 1``; deterministic."""
    probs = np.asarray(probs, np.float64)
    if allowed is None:
        labels = np.asarray(labels, np.int64)
        allowed = np.zeros_like(probs)
        allowed[np.arange(len(labels)), labels] = 1.0
    allowed = np.asarray(allowed, np.float64)
    weights = np.ones(len(probs)) if weights is None else np.asarray(weights, np.float64)
    if probs.ndim != 2 or allowed.shape != probs.shape or not len(probs):
        raise ValueError("fit_temperatures needs (N, C) probabilities and N labels, N > 0")
    z = np.log(np.clip(probs, EPS, 1.0))
    log_t = np.zeros(probs.shape[1])
    m = np.zeros_like(log_t)
    v = np.zeros_like(log_t)
    for step in range(1, steps + 1):
        _, grad = _nll_and_grad(log_t, z, allowed, weights)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        log_t -= lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return np.exp(log_t)


def nll(probs: np.ndarray, allowed: np.ndarray) -> float:
    """Mean ``-log`` of the summed probability of the allowed classes."""
    inside = (np.asarray(probs, np.float64) * allowed).sum(axis=1)
    return float(-np.log(np.clip(inside, EPS, 1.0)).mean())


def reliability(truth: np.ndarray, prob: np.ndarray, bins: int = 10,
                min_prob: float = 0.0) -> list[dict]:  # fmt: skip
    """Per bin of ``[min_prob, 1]``: ``{"lo", "hi", "n", "mean_prob", "fraction_true"}`` of the
    positions with ``prob >= min_prob`` (empty bins left out)."""
    truth = np.asarray(truth, bool)
    prob = np.asarray(prob, np.float64)
    keep = prob >= min_prob
    truth, prob = truth[keep], prob[keep]
    edges = np.linspace(min_prob, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        if n:
            rows.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": n,
                         "mean_prob": float(prob[inside].mean()),
                         "fraction_true": float(truth[inside].mean())})  # fmt: skip
    return rows


def ece(truth: np.ndarray, prob: np.ndarray, bins: int = 10, min_prob: float = 0.0) -> float:
    """Expected calibration error of one class (see the module docstring); NaN when no
    position reaches ``min_prob``."""
    rows = reliability(truth, prob, bins, min_prob)
    n = sum(r["n"] for r in rows)
    if not n:
        return float("nan")
    return float(sum(r["n"] * abs(r["mean_prob"] - r["fraction_true"]) for r in rows) / n)


def brier(truth: np.ndarray, prob: np.ndarray) -> float:
    """Mean squared difference between one class's probability and its 0/1 truth."""
    truth = np.asarray(truth, np.float64)
    return float(np.mean((np.asarray(prob, np.float64) - truth) ** 2))


def fit_record(probs: np.ndarray, allowed: np.ndarray, classes, weights_sha256: str,
               fitted_on: dict, floor: float = 0.0) -> dict:  # fmt: skip
    """Fit per-class temperatures on validation ``probs`` with truth ``allowed`` (``(N, C)``
    0/1) and return the model card's ``calibration`` entry: the temperatures, what they were
    fitted on, and the validation NLL and per-class ECE (probability >= ``floor``) before and
    after, for classes whose truth is one class (rows of ``allowed`` with a single 1)."""
    temperatures = fit_temperatures(probs, allowed=allowed)
    calibrated = apply_temperatures(probs, temperatures)
    single = allowed.sum(axis=1) == 1
    truth = allowed[single].argmax(axis=1)
    per_class = {}
    for c, name in enumerate(classes):
        if (truth == c).any():
            per_class[name] = {
                "ece_before": round(ece(truth == c, probs[single, c], min_prob=floor), 4),
                "ece_after": round(ece(truth == c, calibrated[single, c], min_prob=floor), 4),
            }
    return {
        "method": "temperature",
        "temperatures": [round(float(t), 6) for t in temperatures],
        "weights_sha256": weights_sha256,
        "fitted_on": fitted_on | {"positions": int(len(probs))},
        "validation": {"nll_before": round(nll(probs, allowed), 5),
                       "nll_after": round(nll(calibrated, allowed), 5),
                       "ece_floor": floor, "per_class": per_class},  # fmt: skip
    }
