"""Metrics on hand-made cases whose answers are worked out by hand."""

import pytest

from station.train import metrics


def test_binary_metrics_hand_case():
    # truth:  D D D G G G G ; prediction: D D G D G G G  -> tp 2, fn 1, fp 1, tn 3
    truth = ["spot", "crack", "spot", "good", "good", "good", "good"]
    pred = ["spot", "spot", "good", "crack", "good", "good", "good"]
    r = metrics.report(truth, pred, [0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.4], ["good", "crack", "spot"])
    assert r["n"] == 7
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 / 3)
    assert r["accuracy"] == pytest.approx(5 / 7)
    # positives score 0.9, 0.8, 0.3; negatives 0.6, 0.2, 0.1, 0.4: pairs won 4+4+2 = 10 of 12
    assert r["auroc"] == pytest.approx(10 / 12)
    labels = r["confusion"]["labels"]
    m = r["confusion"]["matrix"]
    assert labels == ["good", "crack", "spot"]
    assert m[labels.index("spot")][labels.index("spot")] == 1
    assert m[labels.index("crack")][labels.index("spot")] == 1
    assert m[labels.index("good")][labels.index("crack")] == 1
    assert r["per_class"]["spot"] == {"n": 2, "recall": 0.5, "flagged_defect": 0.5}


def test_unknown_class_counts_as_defect():
    r = metrics.report(["dent", "good"], ["good", "good"], [0.1, 0.05], ["good", "spot"])
    assert r["recall"] == 0.0 and "dent" in r["confusion"]["labels"]


def test_auroc_ties_and_degenerate():
    assert metrics.auroc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.auroc([1, 1], [0.2, 0.9]) is None


def test_threshold_separates_when_possible():
    t = metrics.best_threshold([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9])
    assert 0.3 < t < 0.6


def test_threshold_takes_the_middle_of_the_cuts_within_noise_of_the_best():
    # 100 clear negatives, 3 hard ones at 0.50-0.60; two positives at 0.40, then none until 0.65.
    neg = [0.05 + 0.3 * i / 99 for i in range(100)] + [0.50, 0.55, 0.60]
    pos = [0.40, 0.40] + [0.65 + 0.34 * i / 97 for i in range(98)]
    y = [0] * len(neg) + [1] * len(pos)
    scores = neg + pos
    f1 = lambda c: metrics.binary(y, [int(v >= c) for v in scores])["f1"]  # noqa: E731
    best = max(f1(c / 1000) for c in range(1000))
    assert abs(best - f1(0.625)) < 1e-9, "the single best cut is the edge of the sample's gap"
    t = metrics.best_threshold(y, scores)
    assert 0.36 < t < 0.6, t  # not at that edge
    assert f1(t) >= best - (best * (1 - best) / 100) ** 0.5
