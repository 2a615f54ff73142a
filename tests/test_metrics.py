import numpy as np
import pytest

from genorrn.metrics import average_precision, calls_at, top_k_accuracy


def test_average_precision_hand_computed():
    truth = np.array([1, 0, 1, 0, 0, 1])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1])
    # hits at ranks 1, 3, 6: precision 1/1, 2/3, 3/6
    assert average_precision(truth, scores) == pytest.approx((1 + 2 / 3 + 0.5) / 3)


def test_perfect_and_reversed_scores():
    truth = np.array([0, 0, 1, 1])
    assert average_precision(truth, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert top_k_accuracy(truth, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert top_k_accuracy(truth, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0


def test_random_scores_give_the_prior():
    rng = np.random.default_rng(0)
    truth = rng.random(200_000) < 0.01
    assert average_precision(truth, rng.random(truth.size)) == pytest.approx(0.01, abs=0.003)


def test_calls_at_threshold_hand_computed():
    truth = np.array([1, 0, 1, 0, 0, 1])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1])
    # called: 0.9, 0.8, 0.7, 0.6 -> 2 of 4 are sites; 2 of the 3 sites are called
    assert calls_at(truth, scores, 0.55) == {"threshold": 0.55, "called": 4, "precision": 0.5,
                                             "recall": 0.6667}  # fmt: skip
    nothing = calls_at(truth, scores, 0.95)
    assert nothing["called"] == 0 and nothing["precision"] is None and nothing["recall"] == 0.0


def test_site_metrics_hand_computed():
    """What ``genorrn evaluate splice`` reports per class, on 10 positions worked out by hand."""
    from genorrn.metrics import site_metrics

    labels = np.array([0, 1, 0, 2, 0, 1, 0, 0, 2, 1])
    acceptor = [0.10, 0.90, 0.80, 0.05, 0.20, 0.30, 0.70, 0.01, 0.02, 0.60]
    donor = [0.05, 0.02, 0.10, 0.85, 0.40, 0.03, 0.20, 0.60, 0.55, 0.04]
    probs = np.stack([1 - np.add(acceptor, donor), acceptor, donor], axis=1).astype(np.float32)
    got = site_metrics(labels, probs, {1: "acceptor", 2: "donor"}, threshold=0.5)
    # acceptor sites 1, 5, 9; ranking 1 (site), 2, 6, 9 (site), 5 (site), ...
    #   top-k, k = 3: {1, 2, 6} hold 1 site -> 1/3; AP = (1/1 + 2/4 + 3/5) / 3 = 0.7
    #   called (>= 0.5): 1, 2, 6, 9 -> precision 2/4, recall 2/3
    # donor sites 3, 8; ranking 3 (site), 7, 8 (site), ...
    #   top-k, k = 2: {3, 7} -> 1/2; AP = (1/1 + 2/3) / 2 = 0.8333
    #   called: 3, 7, 8 -> precision 2/3, recall 2/2
    ranking = {name: {k: got[name][k] for k in ("top_k", "pr_auc", "sites", "calls")}
               for name in got}  # fmt: skip
    assert ranking == {
        "acceptor": {"top_k": 0.3333, "pr_auc": 0.7, "sites": 3,
                     "calls": {"threshold": 0.5, "called": 4, "precision": 0.5, "recall": 0.6667}},
        "donor": {"top_k": 0.5, "pr_auc": 0.8333, "sites": 2,
                  "calls": {"threshold": 0.5, "called": 3, "precision": 0.6667, "recall": 1.0}},
    }  # fmt: skip
    # donor calibration, floor 0.01 (all 10 positions), bins of width 0.099 from 0.01:
    #   [0.01, 0.109): .05 .02 .10 .03 .04, none true -> |0.048 - 0| x 5; [0.109, 0.208): .20
    #   -> 0.2; [0.307, 0.406): .40 -> 0.4; [0.505, 0.604): .60 .55, one true -> |0.575 - 0.5|
    #   x 2; [0.802, 0.901): .85 true -> 0.15. ECE = (0.24 + 0.2 + 0.4 + 0.15 + 0.15) / 10
    donor = got["donor"]
    assert donor["ece"] == pytest.approx(0.114, abs=1e-4) and donor["ece_floor"] == 0.01
    assert [r["n"] for r in donor["reliability"]] == [5, 1, 1, 2, 1]
    # Brier: squared errors .05² .02² .10² .15² .40² .03² .20² .60² .45² .04², mean 0.08004
    assert donor["brier"] == pytest.approx(0.08004, abs=1e-5)


def _sklearn_cases(ties: bool):
    rng = np.random.default_rng(3 if ties else 4)
    for n, prior in ((10, 0.3), (200, 0.05), (5000, 0.01)):
        truth = rng.random(n) < prior
        truth[rng.integers(n)] = True  # at least one site
        scores = rng.random(n)
        if ties:  # few distinct values: sites and non-sites share scores
            scores = np.round(scores * 4) / 4
        yield truth, scores


def test_average_precision_equals_scikit_learn_without_ties():
    from sklearn.metrics import average_precision_score

    for truth, scores in _sklearn_cases(ties=False):
        assert len(np.unique(scores)) == len(scores)
        assert average_precision(truth, scores) == pytest.approx(
            average_precision_score(truth, scores), rel=1e-12)


def test_average_precision_equals_scikit_learn_with_ties():
    from sklearn.metrics import average_precision_score

    # by hand: a site and a non-site with the same score are one threshold: precision 1/2
    assert average_precision_score([1, 0], [0.5, 0.5]) == 0.5
    assert average_precision(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5
    for truth, scores in _sklearn_cases(ties=True):
        assert average_precision(truth, scores) == pytest.approx(
            average_precision_score(truth, scores), rel=1e-12)
