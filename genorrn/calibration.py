"""Probability calibration: per-class temperatures fitted on validation data, and the measures
that say whether probabilities mean what they say (ECE, Brier score, reliability curves).

**Per-class temperature.** A labeller outputs softmax probabilities ``p``. With ``z = log p``
(the logits up to a constant per position), calibrated probabilities are
``softmax(z_c / T_c)``: one temperature per class, fitted by minimising the negative
log-likelihood of the true classes on validation positions. ``T_c > 1`` softens class ``c``,
``T_c < 1`` sharpens it; all ``T_c = 1`` is the identity. Pure numpy.

**Isotonic** (per class): a monotone map of each class's probability fitted on validation
positions (scikit-learn's ``IsotonicRegression``), stored as knots and applied by linear
interpolation, then the classes are renormalised to sum to 1 — or, for a task with a background
class (splice: "neither"), the other classes are mapped and the background class gets the
remainder, so each site class keeps its ranking (a renormalisation would reorder positions by
their background probability) — except in the rare rows where the mapped site probabilities
sum above 1, which are renormalised among themselves. More flexible than a temperature; :func:`fit_record`
chooses between the two by a 2-fold split of the validation data.

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


def fit_isotonic(probs: np.ndarray, allowed: np.ndarray, max_knots: int = 512) -> list[dict]:
    """Per class ``{"x": [...], "y": [...]}``: an increasing map from the raw probability to the
    fraction of positions of that class (``allowed`` one-hot rows), at most ``max_knots`` knots
    (quantiles of the fitted step function; applied by linear interpolation)."""
    from sklearn.isotonic import IsotonicRegression

    maps = []
    for c in range(probs.shape[1]):
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(probs[:, c], allowed[:, c])
        x, y = model.X_thresholds_, model.y_thresholds_
        if len(x) > max_knots:
            keep = np.unique(np.linspace(0, len(x) - 1, max_knots).round().astype(int))
            x, y = x[keep], y[keep]
        maps.append({"x": [round(float(v), 7) for v in x], "y": [round(float(v), 7) for v in y]})
    return maps


#: weight of the raw probability in a class's calibrated value,
#: ``(1 − ISOTONIC_BLEND) · map(p) + ISOTONIC_BLEND · p``: the maps are step functions, and the
#: blend keeps positions on one flat step in their raw order after rounding to float32
#: (resolution ~6e-8 near 1: raw scores 6e-5 apart stay apart), so ranking metrics (PR-AUC,
#: top-k) are the raw ones; it moves a calibrated probability by at most 1e-3.
#: (Was 1e-6 × p added to the map, lost in the float32 output: calibrated PR-AUC fell
#: 0.001–0.006 below raw.)
ISOTONIC_BLEND = 1e-3


def apply_isotonic(probs: np.ndarray, maps: list[dict], remainder: int | None = None,
                   blend: float = ISOTONIC_BLEND) -> np.ndarray:  # fmt: skip
    """Each class's probability through its map, blended with ``blend`` × the raw probability
    (default :data:`ISOTONIC_BLEND`; a strictly increasing map), rows renormalised to sum to 1.
    With ``remainder`` (a class index), that class is not mapped: it gets ``1 −`` the sum of
    the others (rows where the others exceed 1, rare, are renormalised among them)."""
    probs = np.asarray(probs, np.float64)
    out = np.stack([np.interp(probs[..., c], m["x"], m["y"]) for c, m in enumerate(maps)], -1)
    out = (1.0 - blend) * out + blend * probs
    if remainder is not None:
        out[..., remainder] = 0.0
        others = out.sum(axis=-1, keepdims=True)
        out = np.where(others > 1.0, out / np.maximum(others, 1.0), out)
        out[..., remainder] = np.clip(1.0 - others[..., 0], 0.0, 1.0)
        return out.astype(np.float32)
    total = out.sum(axis=-1, keepdims=True)
    out = np.where(total > 0, out / np.where(total > 0, total, 1.0), probs)
    return out.astype(np.float32)


def apply_group_temperatures(probs: np.ndarray, groups: list[list[int]],
                             temperatures) -> np.ndarray:  # fmt: skip
    """Calibrate the probability of each group of classes (``groups``: a partition of the
    classes) with its temperature, and scale the classes inside a group by the same factor, so
    the distribution within a group is unchanged."""
    probs = np.asarray(probs, np.float64)
    member = np.zeros((probs.shape[-1], len(groups)))
    for g, classes in enumerate(groups):
        member[classes, g] = 1.0
    grouped = probs @ member
    calibrated = apply_temperatures(grouped, temperatures).astype(np.float64)
    factor = calibrated / np.clip(grouped, EPS, None)
    return (probs * (factor @ member.T)).astype(np.float32)


def calibrator(record: dict):
    """The function a card's ``calibration`` entry applies to ``(…, classes)`` probabilities."""
    from functools import partial

    if record["method"] == "temperature":
        return partial(apply_temperatures, temperatures=np.asarray(record["temperatures"]))
    if record["method"] == "isotonic":
        return partial(apply_isotonic, maps=record["maps"], remainder=record.get("remainder"))
    if record["method"] == "group-temperature":
        return partial(apply_group_temperatures, groups=record["groups"],
                       temperatures=np.asarray(record["temperatures"]))  # fmt: skip
    raise ValueError(f"unknown calibration method {record['method']!r}")


def _methods(remainder: int | None) -> dict:
    """``{name: (fit(probs, allowed) → parameters, apply(probs, parameters) → probs)}``"""
    return {
        "temperature": (lambda p, a: fit_temperatures(p, allowed=a), apply_temperatures),
        "isotonic": (fit_isotonic, lambda p, maps: apply_isotonic(p, maps, remainder)),
    }


def _mean_ece(probs, truth, classes, floor) -> float:
    values = [ece(truth == c, probs[:, c], min_prob=floor) for c in classes]
    return float(np.nanmean(values))


def _before_after(truth: np.ndarray, before: np.ndarray, after: np.ndarray, floor: float) -> dict:
    """ECE and Brier score of one class (or group) before and after calibration."""
    return {"ece_before": round(ece(truth, before, min_prob=floor), 4),
            "ece_after": round(ece(truth, after, min_prob=floor), 4),
            "brier_before": round(brier(truth, before), 6),
            "brier_after": round(brier(truth, after), 6)}  # fmt: skip


def _record(parameters: dict, probs, calibrated, allowed, weights_sha256, fitted_on,
            validation: dict) -> dict:  # fmt: skip
    """A card's ``calibration`` entry: method and parameters, what it is for and was fitted
    on, and the validation NLL before and after (plus ``validation``)."""
    return parameters | {
        "weights_sha256": weights_sha256,
        "fitted_on": fitted_on | {"positions": int(len(probs))},
        "validation": {"nll_before": round(nll(probs, allowed), 5),
                       "nll_after": round(nll(calibrated, allowed), 5)} | validation,
    }


def fit_record(probs: np.ndarray, allowed: np.ndarray, classes, weights_sha256: str,
               fitted_on: dict, floor: float = 0.0, method: str = "auto",
               background: str | None = None) -> dict:  # fmt: skip
    """Fit a calibration on validation ``probs`` with truth ``allowed`` (``(N, C)`` 0/1) and
    return the model card's ``calibration`` entry.

    ``method="auto"``: 2-fold on the validation data (first half / second half of the rows in
    the order given: for structure, chain order; for splice, the plus-strand gene bodies then
    the minus-strand ones, so the halves are about one strand each): fit temperature and
    isotonic on one half, measure the mean per-class ECE (probability >= ``floor``) on the
    other; isotonic is chosen only when it is clearly better (at least 20 % lower mean ECE on
    the held-out halves), then the chosen method is refitted on all of it. ``background`` (a
    class name, e.g. splice's "neither"): an isotonic fit leaves that class to take the
    remainder (see :func:`apply_isotonic`).
    """
    probs = np.asarray(probs, np.float64)
    allowed = np.asarray(allowed, np.float64)
    if not (allowed.sum(axis=1) == 1).all():
        return _fit_groups(probs, allowed, classes, weights_sha256, fitted_on, floor)
    truth = allowed.argmax(axis=1)
    fitted_classes = [c for c in range(probs.shape[1]) if (truth == c).any()]
    remainder = list(classes).index(background) if background is not None else None
    methods = _methods(remainder)
    comparison = {}
    if method == "auto":
        half = len(probs) // 2
        folds = [(slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))]
        for name, (fit, apply) in methods.items():
            scores = [_mean_ece(apply(probs[test], fit(probs[train], allowed[train])),
                                truth[test], fitted_classes, floor)
                      for train, test in folds]  # fmt: skip
            comparison[name] = round(float(np.mean(scores)), 5)
        comparison["raw"] = round(float(np.mean([_mean_ece(probs[t], truth[t], fitted_classes,
                                                           floor) for _, t in folds])), 5)  # fmt: skip
        isotonic = comparison["isotonic"] <= 0.8 * comparison["temperature"]
        method = "isotonic" if isotonic else "temperature"
    fit, apply = methods[method]
    parameters = fit(probs, allowed)
    calibrated = apply(probs, parameters)
    per_class = {classes[c]: _before_after(truth == c, probs[:, c], calibrated[:, c], floor)
                 for c in fitted_classes}  # fmt: skip
    if method == "temperature":
        stored = {"method": method, "temperatures": [round(float(t), 6) for t in parameters]}
    else:
        stored = {"method": method, "maps": parameters}
        if remainder is not None:
            stored["remainder"] = remainder
    return _record(stored, probs, calibrated, allowed, weights_sha256, fitted_on,
                   {"ece_floor": floor, "two_fold_mean_ece": comparison,
                    "per_class": per_class})  # fmt: skip


def _fit_groups(probs, allowed, classes, weights_sha256, fitted_on, floor) -> dict:
    """Group temperatures from labels that each allow one group of a partition of the classes."""
    patterns = np.unique(allowed, axis=0)
    patterns = patterns[np.argsort([np.flatnonzero(row)[0] for row in patterns])]  # class order
    if patterns.sum(axis=0).max() > 1 or patterns.sum() != probs.shape[1]:
        raise ValueError("grouped labels must partition the classes (each class in one group)")
    groups = [np.flatnonzero(row).tolist() for row in patterns]
    group_probs = probs @ patterns.T
    truth = (allowed @ patterns.T).argmax(axis=1)
    temperatures = fit_temperatures(group_probs, truth)
    calibrated = apply_group_temperatures(probs, groups, temperatures)
    calibrated_groups = calibrated @ patterns.T
    per_group = {"+".join(str(classes[c]) for c in members):
                 _before_after(truth == g, group_probs[:, g], calibrated_groups[:, g], floor)
                 for g, members in enumerate(groups)}  # fmt: skip
    stored = {"method": "group-temperature", "groups": groups,
              "temperatures": [round(float(t), 6) for t in temperatures]}  # fmt: skip
    return _record(stored, probs, calibrated, allowed, weights_sha256, fitted_on,
                   {"ece_floor": floor, "per_group": per_group})
