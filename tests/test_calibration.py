"""Calibration arithmetic (genorrn.calibration): known temperatures are recovered, ECE and Brier
scores on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from genorrn.calibration import apply_temperatures, brier, ece, fit_temperatures, reliability


def _sample(rng, q):
    return (rng.random(len(q))[:, None] > np.cumsum(q, axis=1)).sum(axis=1)


def test_fit_recovers_known_temperatures():
    rng = np.random.default_rng(0)
    true_t = np.array([1.0, 2.0, 0.5])
    reported = rng.dirichlet([0.5, 0.5, 0.5], 20_000)
    truth = apply_temperatures(reported, true_t).astype(np.float64)
    labels = _sample(rng, truth / truth.sum(axis=1, keepdims=True))
    fitted = fit_temperatures(reported, labels)
    np.testing.assert_allclose(fitted, true_t, rtol=0.05)  # measured: 0.98, 2.01, 0.50
    calibrated = apply_temperatures(reported, fitted)
    for c in range(3):
        assert ece(labels == c, calibrated[:, c]) < 0.01  # measured 0.004-0.006
        if c:  # classes 1 and 2 were miscalibrated: measured ECE 0.15 and 0.14 before
            assert ece(labels == c, reported[:, c]) > 0.1
        assert brier(labels == c, calibrated[:, c]) <= brier(labels == c, reported[:, c]) + 1e-4


def test_fit_with_allowed_sets_uses_grouped_labels():
    """Labels that name a group of classes (a Q3 label of a Q8 model) fit through the summed
    probability of the group; one-hot groups give the same fit as class labels."""
    rng = np.random.default_rng(1)
    reported = rng.dirichlet([1.0] * 4, 5000)
    labels = _sample(rng, apply_temperatures(reported, [0.7, 1.0, 1.5, 1.0]).astype(float))
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(fit_temperatures(reported, allowed=onehot),
                               fit_temperatures(reported, labels), rtol=1e-9)  # fmt: skip
    groups = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], float)[labels // 2]
    fitted = fit_temperatures(reported, allowed=groups)
    assert fitted.shape == (4,) and np.all(fitted > 0)


def test_identity_and_bad_input():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32)
    np.testing.assert_allclose(apply_temperatures(p, [1, 1, 1]), p, atol=1e-6)
    with pytest.raises(ValueError, match="needs"):
        fit_temperatures(np.zeros((0, 3)), np.zeros(0, int))


def test_ece_and_brier_hand_computed():
    truth = np.array([1, 0, 1, 1, 0, 0], bool)
    prob = np.array([0.95, 0.95, 0.55, 0.55, 0.001, 0.002])
    # with a 0.01 floor the two near-zero positions are left out: bins [0.505, 0.604)
    # (mean 0.55, 2/2 true) and [0.901, 1] (mean 0.95, 1/2 true)
    rows = reliability(truth, prob, bins=10, min_prob=0.01)
    assert [r["n"] for r in rows] == [2, 2]
    assert ece(truth, prob, bins=10, min_prob=0.01) == pytest.approx((2 * 0.45 + 2 * 0.45) / 4)
    assert brier(truth, prob) == pytest.approx(
        np.mean([0.05**2, 0.95**2, 0.45**2, 0.45**2, 0.001**2, 0.002**2]))
    assert np.isnan(ece(truth, np.zeros(6), min_prob=0.01))


def test_isotonic_and_auto_choice():
    """A miscalibration no temperature can fix (probabilities squeezed into [0.4, 0.6]) is
    fixed by isotonic maps, and the 2-fold choice picks them; well-behaved data keeps
    temperatures."""
    from genorrn.calibration import apply_isotonic, calibrator, fit_record

    rng = np.random.default_rng(2)
    truth_p = rng.random(20_000)
    labels = (rng.random(20_000) < truth_p).astype(int)
    squeezed = 0.4 + 0.2 * truth_p
    probs = np.stack([1 - squeezed, squeezed], axis=1)
    allowed = np.eye(2)[labels]
    record = fit_record(probs, allowed, ["no", "yes"], "0" * 64, {})
    assert record["method"] == "isotonic", record["validation"]["two_fold_mean_ece"]
    calibrated = apply_isotonic(probs, record["maps"])
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-6)
    assert ece(labels == 1, calibrated[:, 1]) < 0.02 < ece(labels == 1, probs[:, 1])
    np.testing.assert_allclose(calibrator(record)(probs), calibrated, atol=1e-7)
    # temperature-shaped miscalibration: temperatures are not clearly worse, so they are kept
    reported = rng.dirichlet([0.5, 0.5, 0.5], 20_000)
    q = apply_temperatures(reported, [1.0, 2.0, 0.5]).astype(np.float64)
    labels3 = _sample(rng, q / q.sum(axis=1, keepdims=True))
    record = fit_record(reported, np.eye(3)[labels3], ["a", "b", "c"], "0" * 64, {})
    assert record["method"] == "temperature"
    with pytest.raises(ValueError, match="partition the classes"):
        fit_record(reported, np.ones((len(reported), 3)) - np.eye(3)[labels3], ["a", "b", "c"],
                   "", {})  # fmt: skip


def test_isotonic_keeps_raw_order_on_a_flat_step_in_float32():
    """Positions on one flat step of an isotonic map keep their raw order in the float32 output
    (the blend with the raw probability is not lost in rounding), so PR-AUC and top-k are the
    raw ones; a calibrated value moves by at most ISOTONIC_BLEND from the map's."""
    from genorrn.calibration import ISOTONIC_BLEND, apply_isotonic

    maps = [{"x": [0.0, 1.0], "y": [0.0, 1.0]},
            {"x": [0.0, 0.5, 0.99, 1.0], "y": [0.0, 0.8, 0.8, 0.9]}]  # fmt: skip
    site = np.array([0.9, 0.9001, 0.9002, 0.95, 0.97])  # all on the flat step at 0.8
    probs = np.stack([1 - site, site], axis=1)
    calibrated = apply_isotonic(probs, maps, remainder=0)
    assert calibrated.dtype == np.float32
    assert (np.diff(calibrated[:, 1]) > 0).all(), calibrated[:, 1]
    assert np.abs(calibrated[:, 1] - 0.8).max() <= ISOTONIC_BLEND + 1e-7
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-6)


def test_group_temperatures_keep_the_split_inside_a_group():
    """Q3 labels of a Q8 model: the groups' probabilities are calibrated, the Q8 split inside a
    group is kept (a Q3 label says nothing about it)."""
    from genorrn.calibration import apply_group_temperatures, fit_record

    rng = np.random.default_rng(4)
    groups = [[0, 1, 2], [3, 4], [5, 6, 7]]
    reported = rng.dirichlet([0.4] * 8, 20_000)
    member = np.zeros((8, 3))
    for g, classes in enumerate(groups):
        member[classes, g] = 1
    q3 = apply_temperatures(reported @ member, [0.6, 1.0, 1.8]).astype(np.float64)
    labels = _sample(rng, q3 / q3.sum(axis=1, keepdims=True))
    record = fit_record(reported, member[:, labels].T, list("HGIEBTSC"), "0" * 64, {})
    assert record["method"] == "group-temperature" and record["groups"] == groups
    np.testing.assert_allclose(record["temperatures"], [0.6, 1.0, 1.8], rtol=0.06)
    calibrated = apply_group_temperatures(reported, groups, record["temperatures"])
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-5)
    inside = [0, 1, 2]
    np.testing.assert_allclose(calibrated[:, inside] / calibrated[:, inside].sum(1, keepdims=True),
                               reported[:, inside] / reported[:, inside].sum(1, keepdims=True),
                               rtol=1e-4)  # fmt: skip


def test_isotonic_with_a_background_class_keeps_each_site_class_ranking():
    """Splice-like data (a dominant background class and two rare site classes, their scores
    over-confident): with ``background`` the site classes are mapped and the background takes
    the remainder, so ranking within each site class is the raw one wherever the mapped site
    probabilities sum to at most 1 (renormalising all three would reorder positions by their
    background probability)."""
    from genorrn.calibration import apply_isotonic, calibrator, fit_record

    rng = np.random.default_rng(5)
    n = 60_000
    truth = np.zeros(n, int)
    truth[rng.random(n) < 0.02] = 1
    truth[rng.random(n) < 0.02] = 2
    probs = rng.dirichlet([8.0, 0.3, 0.3], n)
    for c in (1, 2):  # the true class gets a boost, then everything is re-normalised
        probs[truth == c, c] += rng.random((truth == c).sum()) * 2
    probs /= probs.sum(axis=1, keepdims=True)
    record = fit_record(probs, np.eye(3)[truth], ["neither", "a", "d"], "0" * 64, {},
                        floor=0.01, method="isotonic", background="neither")  # fmt: skip
    assert record["remainder"] == 0
    calibrated = calibrator(record)(probs)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-6)
    assert (calibrated >= 0).all()
    mapped = np.stack([np.interp(probs[:, c], m["x"], m["y"])
                       for c, m in enumerate(record["maps"])], 1)  # fmt: skip
    fits = mapped[:, 1:].sum(axis=1) + 2e-6 <= 1.0
    assert fits.mean() > 0.99
    for c in (1, 2):
        raw_order = np.argsort(probs[fits, c], kind="stable")
        assert (np.diff(calibrated[fits][raw_order, c]) >= 0).all()  # monotone in the raw score
        assert ece(truth == c, calibrated[:, c], min_prob=0.01) < ece(truth == c, probs[:, c],
                                                                     min_prob=0.01)  # fmt: skip
    # without the background class, renormalisation does reorder some site-class scores
    renormalised = apply_isotonic(probs, record["maps"])
    order = np.argsort(probs[:, 1], kind="stable")
    assert (np.diff(renormalised[order, 1].astype(np.float64)) < 0).any()
