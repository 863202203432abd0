"""The statistics of an experiment: numbers in, numbers out, no I/O.

Fixed horizon: Welch's t-test on per-customer values, CUPED-adjusted when a pre-exposure
covariate is given (Deng et al. 2013; theta from both arms pooled, as tea-tasting does), the
relative lift's interval by the delta method on the log scale. These figures hold at a sample
size fixed in advance (`power` says what that size can detect); looked at every day, they are
not to be trusted. What may be looked at every day is the always-valid side: a normal-mixture
sequential probability ratio test (mSPRT, Johari et al. 2017), whose confidence sequence covers
the true lift at every look at once with probability 1 - alpha. Sample-ratio mismatch: Pearson's
chi-squared against the configured weights, flagged at p < 0.001 (as GrowthBook does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np
from scipy import optimize, special

ALPHA = 0.05
SRM_P = 0.001
SEQUENTIAL_TUNING = 5000  # the always-valid interval is narrowest at this many customers per arm (by default)


@dataclass(frozen=True, slots=True)
class Moments:
    n: int
    mean: float
    var: float  # sample variance (ddof 1)


def moments(values: np.ndarray) -> Moments:
    n = len(values)
    return Moments(n, float(values.mean()) if n else math.nan, float(values.var(ddof=1)) if n > 1 else math.nan)


def cuped_theta(y: np.ndarray, x: np.ndarray) -> float:
    """The covariate's coefficient over both arms: cov(y, x) / var(x); 0 for a constant covariate."""
    if len(y) < 2:
        return 0.0
    var_x = float(x.var(ddof=1))
    return 0.0 if var_x == 0 else float(np.cov(y, x, ddof=1)[0, 1]) / var_x


def adjusted(y: np.ndarray, x: np.ndarray, theta: float, x_mean: float) -> np.ndarray:
    """y - theta (x - mean of x over both arms): the same expectation, less variance."""
    return y - theta * (x - x_mean)


@dataclass(frozen=True, slots=True)
class Lift:
    control: float
    treatment: float
    absolute: float
    ci: tuple[float, float]
    relative: float | None
    relative_ci: tuple[float, float] | None
    p_value: float
    df: float
    scale: float  # the standard error of the absolute lift

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _welch(var_c: float, n_c: int, var_t: float, n_t: int) -> tuple[float, float]:
    """(standard error of the difference, Welch-Satterthwaite degrees of freedom)."""
    a, b = var_c / n_c, var_t / n_t
    scale = math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (n_c - 1) + b * b / (n_t - 1)) if a + b > 0 else math.inf
    return scale, df


def _t_quantile(df: float, q: float) -> float:
    return float(special.ndtri(q)) if math.isinf(df) else float(special.stdtrit(df, q))


def compare(control: Moments, treatment: Moments, alpha: float = ALPHA) -> Lift | None:
    """Treatment minus control, two-sided; None with fewer than two customers in an arm or no variance."""
    if control.n < 2 or treatment.n < 2:
        return None
    scale, df = _welch(control.var, control.n, treatment.var, treatment.n)
    if scale == 0:
        return None
    effect = treatment.mean - control.mean
    half = _t_quantile(df, 1 - alpha / 2) * scale
    t = effect / scale
    p = float(2 * special.ndtr(-abs(t))) if math.isinf(df) else float(2 * special.stdtr(df, -abs(t)))
    relative = relative_ci = None
    if control.mean > 0 and treatment.mean > 0:
        log_scale, log_df = _welch(
            control.var / control.mean**2, control.n, treatment.var / treatment.mean**2, treatment.n
        )
        ratio, spread = (
            treatment.mean / control.mean,
            math.exp(min(50.0, _t_quantile(log_df, 1 - alpha / 2) * log_scale)),
        )
        relative, relative_ci = ratio - 1, (ratio / spread - 1, ratio * spread - 1)
    return Lift(
        control.mean, treatment.mean, effect, (effect - half, effect + half), relative, relative_ci, p, df, scale
    )


@dataclass(frozen=True, slots=True)
class Sequential:
    ci: tuple[float, float]
    relative_ci: tuple[float, float] | None
    p_value: float  # always valid: the smallest over every look so far

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@cache
def _tightest(alpha: float) -> float:
    """The ratio of the mixing variance to the estimate's variance at which the confidence
    sequence is narrowest: (1 + 1/k)(2 ln(1/alpha) + ln(1 + k)) is least at k (8.2 at alpha = 0.05).
    Mixing at k times the variance the tuned sample will have makes the interval narrowest there."""
    c = 2 * math.log(1 / alpha)
    found = optimize.minimize_scalar(lambda k: (1 + 1 / k) * (c + math.log1p(k)), bounds=(0.01, 1e4), method="bounded")
    return float(found.x)


def _mixture(effect: float, variance: float, tau2: float, alpha: float) -> tuple[float, float]:
    """(half-width of the confidence sequence, 1 / the mixture likelihood ratio against no effect)."""
    half = math.sqrt(
        variance * (variance + tau2) / tau2 * (2 * math.log(1 / alpha) + math.log((variance + tau2) / variance))
    )
    log_ratio = 0.5 * math.log(variance / (variance + tau2)) + tau2 * effect**2 / (2 * variance * (variance + tau2))
    return half, math.exp(-log_ratio) if log_ratio < 700 else 0.0


def sequential(lift: Lift, control: Moments, treatment: Moments, earlier_p: float = 1.0,
               alpha: float = ALPHA, tuning: int = SEQUENTIAL_TUNING) -> Sequential:  # fmt: skip
    """The always-valid interval and p-value at this look; `earlier_p`: the smallest at earlier looks."""
    variance = lift.scale**2
    per_customer = variance / (1 / control.n + 1 / treatment.n)
    spread = _tightest(alpha) * 2 / tuning  # the mixing variance, per unit of per-customer variance
    half, inverse = _mixture(lift.absolute, variance, per_customer * spread, alpha)
    relative_ci = None
    if lift.relative is not None:
        log_var = control.var / control.mean**2 / control.n + treatment.var / treatment.mean**2 / treatment.n
        log_per = log_var / (1 / control.n + 1 / treatment.n)
        log_half, _ = _mixture(0.0, log_var, log_per * spread, alpha)
        log_half = min(log_half, 50.0)  # a few customers: the bound is e^50 times the ratio, not an overflow
        ratio = lift.relative + 1
        relative_ci = (ratio * math.exp(-log_half) - 1, ratio * math.exp(log_half) - 1)
    ci = (lift.absolute - half, lift.absolute + half)
    return Sequential(ci, relative_ci, min(earlier_p, 1.0, inverse))


def power(
    lift: Lift, control: Moments, treatment: Moments, alpha: float = ALPHA, target: float = 0.8
) -> dict[str, Any]:
    """What this sample size can detect with `target` power, fixed horizon: the minimum detectable
    absolute (and relative) lift, and the power it has against the lift observed."""
    z = float(special.ndtri(1 - alpha / 2))
    mde = (z + float(special.ndtri(target))) * lift.scale
    observed = float(
        special.ndtr(abs(lift.absolute) / lift.scale - z) + special.ndtr(-abs(lift.absolute) / lift.scale - z)
    )
    return {
        "target_power": target,
        "minimum_detectable_lift": mde,
        "minimum_detectable_relative": mde / control.mean if control.mean > 0 else None,
        "power_at_observed_lift": observed,
    }


def customers_needed(control: Moments, treatment: Moments, relative: float, weights: tuple[float, float],
                     alpha: float = ALPHA, target: float = 0.8) -> int | None:  # fmt: skip
    """Customers in both arms together for a fixed-horizon test to detect `relative` lift."""
    if not control.mean > 0 or math.isnan(control.var):
        return None
    z = float(special.ndtri(1 - alpha / 2)) + float(special.ndtri(target))
    share_c, share_t = weights[0] / sum(weights), weights[1] / sum(weights)
    delta = relative * control.mean
    return math.ceil(z * z * (control.var / share_c + treatment.var / share_t) / delta**2)


def srm(counts: Sequence[int], weights: Sequence[float]) -> dict[str, Any]:
    """Pearson's chi-squared of the customers per arm against the configured weights."""
    total = sum(counts)
    expected = [total * w / sum(weights) for w in weights]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(counts, expected, strict=True) if e > 0)
    p = float(special.chdtrc(len(counts) - 1, chi2)) if total else 1.0
    return {"chi2": chi2, "p_value": p, "mismatch": p < SRM_P, "expected": expected, "observed": list(counts)}
