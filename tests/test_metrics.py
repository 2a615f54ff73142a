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
