"""The uplift model: for each offer, how much more likely a customer is to buy when sent it.

A two-model (T-) learner per offer: one classifier on the customers sent the offer, one on those
held out from it, both on the features just before the exposure; the uplift is the difference of
their purchase probabilities. It is judged on held-out customers (a fixed share, by pid) with
the Qini coefficient: the area between the Qini curve (incremental buyers found when the top
customers by a score are targeted) and the random line, per customer. Ranking by the propensity
the decisions recorded is the baseline it must beat to be published. Every offer's pair goes out
as one ONNX graph: `features` → `uplift`, a column per offer in the manifest's `offers`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from training.uplift_data import Exposed

MIN_OUTCOMES = 20  # buyers and non-buyers in each arm, or the offer gets no model
HELD_OUT_PERCENT = 30
REGULARIZATION = 0.1  # logistic C: a few hundred customers an arm, 25 features
BOOTSTRAP = 200  # resamples for the interval of the Qini difference


class TooFewOutcomes(ValueError):
    """The data cannot support an uplift model for this offer (yet)."""


@dataclass
class OfferModel:
    offer: str
    treated: Pipeline
    control: Pipeline
    metrics: dict[str, Any]

    def uplift(self, features: np.ndarray) -> np.ndarray:
        rows = features.astype(np.float32)
        return self.treated.predict_proba(rows)[:, 1] - self.control.predict_proba(rows)[:, 1]


def held_out(pids: list[str]) -> np.ndarray:
    """The evaluation customers: the same ones in every run, whatever else changes."""
    return np.array([int(hashlib.blake2b(p.encode(), digest_size=4).hexdigest(), 16) % 100 < HELD_OUT_PERCENT
                     for p in pids], dtype=bool)  # fmt: skip


def qini_curve(score: np.ndarray, treated: np.ndarray, converted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of customers targeted, incremental buyers per customer) at each distinct score,
    highest first: buyers among the treated targeted, less the control's buyers scaled to the
    treated count, n_t(k)/n_c(k) (Radcliffe's Qini), over all customers. Ties move together."""
    order = np.argsort(-score, kind="stable")
    s, t, y = score[order], treated[order].astype(bool), converted[order].astype(bool)
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1] if len(s) else np.array([], np.int64)
    n_t, n_c = np.cumsum(t)[ends], np.cumsum(~t)[ends]
    y_t, y_c = np.cumsum(t & y)[ends], np.cumsum(~t & y)[ends]
    gain = y_t - np.divide(y_c * n_t, n_c, out=np.zeros(len(ends)), where=n_c > 0)
    return np.r_[0.0, (ends + 1) / len(s)], np.r_[0.0, gain / len(s)]


def qini_coefficient(score: np.ndarray, treated: np.ndarray, converted: np.ndarray) -> float:
    """Area between the Qini curve and the line to its end (random targeting); 0 for no skill."""
    x, q = qini_curve(score, treated, converted)
    area = float(np.sum((x[1:] - x[:-1]) * (q[1:] + q[:-1]) / 2))
    return area - q[-1] / 2


def fit_offer(data: Exposed, min_outcomes: int = MIN_OUTCOMES) -> OfferModel:
    """The offer's two classifiers on its training customers, judged on the held-out ones."""
    _enough(data, min_outcomes)
    test = held_out(data.pids)
    if not test.any():
        raise TooFewOutcomes(f"{data.offer}: no customer falls in the held-out share to judge a model on")
    fitted = {}
    for arm, rows in (("treated", data.treated & ~test), ("control", ~data.treated & ~test)):
        labels = data.converted[rows]
        if len(np.unique(labels)) < 2:
            raise TooFewOutcomes(f"{data.offer}: the {arm} training customers all did the same")
        model = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(C=REGULARIZATION, max_iter=2000))])
        fitted[arm] = model.fit(data.features[rows], labels.astype(np.int64))
    fit = OfferModel(data.offer, fitted["treated"], fitted["control"], {})
    fit.metrics = evaluate(fit, data.only(test))
    return fit


def evaluate(fit: OfferModel, held: Exposed) -> dict[str, Any]:
    """Qini coefficients on the held-out customers: the uplift model, the recorded propensity
    (customers with none recorded rank last), and the held-out counts and observed uplift."""
    uplift = fit.uplift(held.features)
    propensity = np.nan_to_num(held.propensity, nan=-1.0)
    counts = held.counts()
    treated_rate = counts["treated_converted"] / counts["treated"] if counts["treated"] else None
    control_rate = counts["control_converted"] / counts["control"] if counts["control"] else None
    share = np.linspace(0, 1, 21)
    curves = {name: np.interp(share, *qini_curve(score, held.treated, held.converted))
              for name, score in (("uplift", uplift), ("propensity", propensity))}  # fmt: skip
    return {
        "qini": qini_coefficient(uplift, held.treated, held.converted),
        "propensity_qini": qini_coefficient(propensity, held.treated, held.converted),
        "qini_difference_ci": _difference_interval(uplift, propensity, held),
        "qini_curve": {"share": share.round(2).tolist()}
        | {k: [round(float(v), 6) for v in c] for k, c in curves.items()},
        "held_out": counts,
        "observed_uplift": treated_rate - control_rate
        if treated_rate is not None and control_rate is not None
        else None,
        "mean_predicted_uplift": float(uplift.mean()) if len(uplift) else None,
        "propensity_recorded": int(np.isfinite(held.propensity).sum()),
    }


def _difference_interval(uplift: np.ndarray, propensity: np.ndarray, held: Exposed) -> list[float]:
    """95 % bootstrap interval of the uplift model's Qini less the propensity's, on the same
    resampled customers: how far apart the two rankings really are on so few."""
    rng, n = np.random.default_rng(0), len(uplift)
    differences = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, n, n)
        treated, converted = held.treated[pick], held.converted[pick]
        differences.append(qini_coefficient(uplift[pick], treated, converted)
                           - qini_coefficient(propensity[pick], treated, converted))  # fmt: skip
    low, high = np.percentile(differences, [2.5, 97.5]) if n else (np.nan, np.nan)
    return [float(low), float(high)]


def _enough(data: Exposed, min_outcomes: int) -> None:
    counts = data.counts()
    short = []
    for arm in ("treated", "control"):
        bought, not_bought = counts[f"{arm}_converted"], counts[arm] - counts[f"{arm}_converted"]
        if min(bought, not_bought) < min_outcomes:
            short.append(f"{arm} {bought} bought / {not_bought} did not")
    if short:
        raise TooFewOutcomes(f"{data.offer}: {', '.join(short)}; needs {min_outcomes} of each in each arm")
