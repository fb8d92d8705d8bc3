"""Classifiers that learn the inspectors' final verdicts: one per checklist area (greeting,
closing, courtesy, forbidden, acoustic), over character n-grams and pinyin n-grams of each item's
window (TF-IDF, crossed with the item id) and the rule engine's signals, with logistic regression.

One model per area rather than per item: most items see a few overrides a month, too few for a
model of their own, and items of an area share their language (a greeting is a greeting). An
area whose training verdicts are all one way gets no classifier, only that share (smoothed).

A model learns P(the automatic verdict is wrong): whether inspectors turned "fail" into
something else, or something else into "fail" ("fail" is what costs an agent points, as in the
agreement figures). What it has never seen go wrong it takes for right, as inspectors do: a rule
is trusted until overrides say otherwise. From it follows P(final verdict is fail), and a call's
P(some automatic verdict is wrong), its items taken as independent.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import joblib
import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from qa.errors import QAError
from qa.learning.features import ItemCase, char_grams, sound_grams

FORMAT = 1  # of the pickled bundle; a stored model of another format is not loaded
REGULARISATION_C = 4.0  # product default: logistic regression's inverse regularisation strength


class StoredModelError(QAError, ValueError):
    """A stored model version this release cannot load."""

    code = "stored_model"

class AreaModel:
    """P(automatic verdict is wrong) for the items of one area."""

    def __init__(self, area: str) -> None:
        self.area = area
        self.prior: float | None = None  # set when training saw one class only
        self.text = TfidfVectorizer(analyzer=char_grams, min_df=2, sublinear_tf=True)
        self.sound = TfidfVectorizer(analyzer=sound_grams, min_df=2, sublinear_tf=True)
        self.signals = DictVectorizer()
        self.classifier = LogisticRegression(C=REGULARISATION_C, max_iter=2000)

    def _matrix(self, cases: Sequence[ItemCase], fit: bool) -> object:
        parts = ((self.text, [c.document for c in cases]), (self.sound, [c.sound_document for c in cases]),
                 (self.signals, [c.signals for c in cases]))
        return hstack([v.fit_transform(x) if fit else v.transform(x) for v, x in parts]).tocsr()

    def fit(self, cases: Sequence[ItemCase], wrong: Sequence[bool]) -> AreaModel:
        labels = np.asarray(wrong, dtype=int)
        if labels.min() == labels.max():
            self.prior = (labels.sum() + 1) / (len(labels) + 2)  # Laplace: never a certainty
            return self
        self.classifier.fit(self._matrix(cases, fit=True), labels)
        return self

    def p_wrong(self, cases: Sequence[ItemCase]) -> np.ndarray:
        if not cases:
            return np.zeros(0)
        if self.prior is not None:
            return np.full(len(cases), self.prior)
        return self.classifier.predict_proba(self._matrix(cases, fit=False))[:, 1]


@dataclass
class LearnedModels:
    """A version's area models, and the settings fixed into it when it was trained."""

    areas: dict[str, AreaModel] = field(default_factory=dict)
    flag_above: float = 0.7
    format: int = FORMAT

    def p_fail(self, cases: Sequence[ItemCase]) -> list[float | None]:
        """P(fail) per case, None for a case of an area the models never saw."""
        out: list[float | None] = [None] * len(cases)
        by_area: dict[str, list[int]] = {}
        for i, case in enumerate(cases):
            if case.area in self.areas:
                by_area.setdefault(case.area, []).append(i)
        for area, indices in by_area.items():
            for i, p in zip(indices, self.areas[area].p_wrong([cases[i] for i in indices])):
                out[i] = float(1.0 - p if cases[i].auto_fail else p)
        return out

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self, buffer, compress=3)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> LearnedModels:
        """Only blobs this product wrote to its own database are loaded (a pickle runs code)."""
        models = joblib.load(io.BytesIO(blob))
        if not isinstance(models, cls) or models.format != FORMAT:
            raise StoredModelError("the stored model is of another format; train a new version")
        return models


def fit_models(cases: Sequence[ItemCase], fails: Sequence[bool], flag_above: float) -> LearnedModels:
    """Models of every area from cases and their final verdicts (True: fail)."""
    models = LearnedModels(flag_above=flag_above)
    for area in sorted({c.area for c in cases}):
        chosen = [i for i, c in enumerate(cases) if c.area == area]
        models.areas[area] = AreaModel(area).fit([cases[i] for i in chosen],
                                                 [cases[i].auto_fail != fails[i] for i in chosen])
    return models


def p_wrong(auto_fail: bool, p_fail: float) -> float:
    """The chance that an automatic verdict is wrong, given the model's P(final is fail)."""
    return 1.0 - p_fail if auto_fail else p_fail


def call_p_wrong(item_p_wrong: Sequence[float]) -> float:
    """The chance that at least one of a call's automatic verdicts is wrong (items taken as independent)."""
    return 1.0 - math.prod(1.0 - p for p in item_p_wrong)


def disputes(auto_fail: bool, p_fail: float, flag_above: float) -> bool:
    """Rules and model disagree: the model gives the other verdict at least `flag_above`."""
    return p_wrong(auto_fail, p_fail) >= flag_above
