"""Customer lifetime value: BG/NBD for transactions plus Gamma-Gamma for spend (numpy/scipy).

Why our own ~150 lines and not a library: `lifetimes` (the reference implementation) is
archived and pins old pandas; its fork `btyd` is a beta with no release since 2022;
`pymc-marketing` is well kept but brings PyMC and PyTensor (a compiler toolchain, hundreds of
MB) for what is two closed-form likelihoods. numpy and scipy (pinned in requirements.txt) do
it; tests/analytics/test_clv_cdnow.py checks the fit against the published CDNOW parameters.

BG/NBD, Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to
the Pareto/NBD Model", Marketing Science 24(2). Per customer: x repeat transactions (several
purchases on one day are one transaction), t_x the time of the last one and T the time since
the first purchase (both in weeks from the first purchase). Likelihood (their eq. 6):
    L = B(a, b + x)/B(a, b) * Γ(r + x) α^r / Γ(r) * [ (α+T)^-(r+x)
        + δ(x>0) a/(b+x-1) (α+t_x)^-(r+x) ] ... written below with B(a, b+x) split out.
P(alive | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x-1) ((α+T)/(α+t_x))^(r+x))          (their eq. A.?)
E[Y(t) | x, t_x, T]  = (a+b+x-1)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x)
                        2F1(r+x, b+x; a+b+x-1; t/(α+T+t))] * P(alive)           (their eq. 10)

Gamma-Gamma spend, Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", J. Marketing Research 42(4), and Fader & Hardie (2013), "The
Gamma-Gamma Model of Monetary Value": for x repeat transactions of average value m,
    f(m | p, q, γ, x) = Γ(px+q)/(Γ(px)Γ(q)) γ^q m^(px-1) x^(px) / (γ + m x)^(px+q)
    E[M | p, q, γ, m, x] = (γ + m x) p / (p x + q - 1)
Members without a repeat transaction get the population mean p γ / (q - 1).

CLV over H months, discounted monthly at an annual rate d (as the `lifetimes` library does):
    CLV = Σ_{k=1..H} (E[Y(k months)] - E[Y(k-1 months)]) E[M] / (1 + d)^(k/12)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from scipy import optimize, special

from app.core.lazy import numpy as np

WEEKS_PER_MONTH = 52.0 / 12.0


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    converged: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    converged: bool = True

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def population_mean(self) -> float:
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("nan")


# --------------------------------------------------------------------------- BG/NBD


def _bgnbd_ll(params: np.ndarray, x, t_x, T, weights) -> float:
    r, alpha, a, b = np.exp(params)
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    ln_a2 = (special.gammaln(a + b) + special.gammaln(b + x)
             - special.gammaln(b) - special.gammaln(a + b + x))
    ln_a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        ln_a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    ll = ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4)
    return -float(np.sum(weights * ll))


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows and their counts: the likelihood only needs each distinct history once."""
    stacked = np.column_stack(columns)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(np.float64)


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters (optimised on their logarithms)."""
    (xu, tu, Tu), w = _compress(np.asarray(x, float), np.asarray(t_x, float),
                                np.asarray(T, float))
    scale = max(float(np.max(Tu)) if Tu.size else 1.0, 1e-9)
    # Fit on time in units of the longest T (better conditioned), then scale alpha back.
    result = optimize.minimize(
        _bgnbd_ll, x0=np.log([0.5, 0.5, 0.5, 0.5]),
        args=(xu, tu / scale, Tu / scale, w),
        method="L-BFGS-B", bounds=[(-12.0, 12.0)] * 4,
    )
    r, alpha, a, b = np.exp(result.x)
    return BgNbd(float(r), float(alpha * scale), float(a), float(b), bool(result.success))


def p_alive(m: BgNbd, x, t_x, T) -> np.ndarray:
    x = np.asarray(x, float)
    t_x = np.asarray(t_x, float)
    T = np.asarray(T, float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_ratio = (np.log(m.a) - np.log(np.maximum(m.b + x - 1, 1e-300))
                     + (m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + t_x)))
        out = np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)
    return np.clip(out, 0.0, 1.0)


def expected_purchases(m: BgNbd, t: float, x, t_x, T) -> np.ndarray:
    """E[transactions in the next `t` weeks | x, t_x, T]."""
    x = np.asarray(x, float)
    T = np.asarray(T, float)
    if t <= 0:
        return np.zeros_like(x)
    z = t / (m.alpha + T + t)
    hyp = special.hyp2f1(m.r + x, m.b + x, m.a + m.b + x - 1, z)
    head = (m.a + m.b + x - 1) / (m.a - 1)
    body = 1.0 - np.exp((m.r + x) * (np.log(m.alpha + T) - np.log(m.alpha + T + t))) * hyp
    value = head * body * p_alive(m, x, t_x, T)
    return np.maximum(np.nan_to_num(value, nan=0.0, posinf=0.0), 0.0)


# --------------------------------------------------------------------------- Gamma-Gamma


def _gg_ll(params: np.ndarray, x, mean, weights) -> float:
    p, q, gamma = np.exp(params)
    px = p * x
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
          + q * np.log(gamma) + (px - 1) * np.log(mean) + px * np.log(x)
          - (px + q) * np.log(gamma + mean * x))
    return -float(np.sum(weights * ll))


def fit_gamma_gamma(x: np.ndarray, mean_value: np.ndarray) -> GammaGamma:
    """Gamma-Gamma parameters from customers with x >= 1 repeat transactions of average value
    `mean_value` (> 0); others are left out."""
    x = np.asarray(x, float)
    mean_value = np.asarray(mean_value, float)
    keep = (x > 0) & (mean_value > 0)
    (xu, mu), w = _compress(x[keep], mean_value[keep])
    scale = float(np.median(mu)) if mu.size else 1.0
    result = optimize.minimize(
        _gg_ll, x0=np.log([1.0, 1.0, 1.0]), args=(xu, mu / scale, w),
        method="L-BFGS-B", bounds=[(-12.0, 12.0)] * 3,
    )
    p, q, gamma = np.exp(result.x)
    return GammaGamma(float(p), float(q), float(gamma * scale), bool(result.success))


def expected_spend(m: GammaGamma, x, mean_value) -> np.ndarray:
    """E[value of a future transaction]; the population mean where x = 0."""
    x = np.asarray(x, float)
    mean_value = np.asarray(mean_value, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = (m.gamma + mean_value * x) * m.p / (m.p * x + m.q - 1)
    return np.where(x > 0, own, m.population_mean)


# --------------------------------------------------------------------------- CLV


def clv(bg: BgNbd, gg: GammaGamma, x, t_x, T, mean_value, *, months: int,
        annual_discount: float) -> tuple[np.ndarray, np.ndarray]:
    """(discounted CLV, expected transactions) over the next `months` months; T in weeks."""
    spend = expected_spend(gg, x, mean_value)
    total = np.zeros(np.asarray(x).shape, dtype=float)
    previous = np.zeros_like(total)
    for k in range(1, months + 1):
        cumulative = expected_purchases(bg, k * WEEKS_PER_MONTH, x, t_x, T)
        total += (cumulative - previous) / (1.0 + annual_discount) ** (k / 12.0)
        previous = cumulative
    return np.nan_to_num(total * spend), previous
