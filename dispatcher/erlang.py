"""Erlang C (M/M/n) and Erlang A (M/M/n+M, Palm) queue formulas, vectorised over periods.

Everything takes numpy arrays of per-period arrival rates (contacts per second), mean handle times
(seconds) and agent counts, and returns arrays. Erlang B is computed in log space through the
regularised incomplete gamma function (no factorials, no overflow from 0.01 to 10,000 Erlangs) and
then stepped over neighbouring agent counts with the stable recursion
``B(n+1) = a·B(n) / (n+1 + a·B(n))``. ``required_agents`` needs one incomplete-gamma evaluation per
period: it guesses the answer by square-root staffing (Halfin-Whitt), checks a narrow window of
agent counts around the guess, and widens the window only for the few periods that need it.

Erlang A (Palm's M/M/n+M: exponential patience) uses the closed forms of Mandelbaum & Zeltyn via
the regularised incomplete gamma P(x, y) with x = n·patience/aht, y = a·patience/aht. Its service
level is the share of *all* arrivals answered within the answer time (a hang-up is a miss), its
ASA the mean time in queue over all arrivals (= patience × abandonment, by Little's law).
``required_agents_erlang_a`` searches with a cheaper evaluation (Temme's uniform expansion of the
incomplete gamma, the in-time share as a short Gauss-Legendre integral, ~2e-6 from the exact
formulas) and re-evaluates exactly whatever lands within 1e-4 of a target, so its counts are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from dispatcher.errors import Infeasible, InvalidInput

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ArrayLike = npt.ArrayLike

WINDOW = 5
"""Agent counts checked per period and round; the square-root guess is within ±2 almost always."""


def _f(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _check_finite_nonnegative(values: FloatArray, name: str) -> None:
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InvalidInput(
            f"{name} must be a finite number >= 0, got {float(values.flat[index])!r} at period {index}", field=name
        )


def _check_target(target_sl: float, answer_within_s: float) -> None:
    if not (np.isfinite(target_sl) and 0.0 < target_sl <= 1.0):
        raise InvalidInput(f"service level target must be in (0, 1] (i.e. (0, 100] %), got {target_sl!r}",
                           field="target_sl")
    if not (np.isfinite(answer_within_s) and answer_within_s > 0):
        raise InvalidInput(f"answer time must be > 0 seconds, got {answer_within_s!r}", field="answer_within_s")


def _check_occupancy(max_occupancy: float) -> None:
    if not (np.isfinite(max_occupancy) and 0.0 < max_occupancy <= 1.0):
        raise InvalidInput(f"max occupancy must be in (0, 1], got {max_occupancy!r}", field="max_occupancy")


def offered_traffic(rate_per_s: ArrayLike, aht_s: ArrayLike) -> FloatArray:
    """Offered load in Erlangs (rate × handle time); periods without demand carry 0 whatever their AHT."""
    rate = _f(rate_per_s)
    aht = _f(aht_s)
    _check_finite_nonnegative(rate, "rate_per_s")
    demand = rate > 0
    aht_bad = demand & ~(np.isfinite(aht) & (aht > 0))
    if aht_bad.any():
        index = int(np.flatnonzero(aht_bad)[0])
        raise InvalidInput(
            f"aht_s must be a finite number > 0 where there is demand, got {float(aht.flat[index])!r} "
            f"at period {index}",
            field="aht_s",
        )
    return np.where(demand, rate * np.where(demand, aht, 1.0), 0.0)


# --------------------------------------------------------------------------------------------- Erlang B/C


def erlang_b(agents: ArrayLike, traffic: ArrayLike) -> FloatArray:
    """Blocking probability of M/M/n/n: Poisson pmf(n; a) / cdf(n; a), evaluated in log space."""
    n, a = np.broadcast_arrays(_f(agents), _f(traffic))
    out = np.ones(n.shape, dtype=np.float64)
    live = a > 0
    out[~live] = 0.0
    out[live & (n <= 0)] = 1.0
    calc = live & (n > 0)
    if calc.any():
        nn, aa = n[calc], a[calc]
        log_pmf = nn * np.log(aa) - aa - special.gammaln(nn + 1.0)
        cdf = _f(special.gammaincc(nn + 1.0, aa))
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.exp(log_pmf) / cdf
        far = ~(cdf > 1e-280)  # far fewer agents than Erlangs: the cdf underflows
        if far.any():
            values[far] = _erlang_b_overloaded(nn[far], aa[far])
        out[calc] = values
    return out


def _erlang_b_overloaded(n: FloatArray, a: FloatArray) -> FloatArray:
    """1/B = sum_j n!/((n-j)! a^j), summed directly; converges fast because n is well below a."""
    total = np.ones_like(n)
    term = np.ones_like(n)
    for j in range(1, int(n.max()) + 1):
        term = term * np.maximum(n - j + 1.0, 0.0) / a
        total += term
        if not (term > 1e-17 * total).any():
            break
    return _f(1.0 / total)


def _erlang_c_from_b(n: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """P(wait) from Erlang B; 1 where the queue is unstable (n <= a)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n * b / (n - a * (1.0 - b))
    return np.where(n > a, c, 1.0)


def erlang_c(agents: ArrayLike, traffic: ArrayLike) -> FloatArray:
    """Probability that a contact waits (all agents busy) in M/M/n; 1 when agents <= traffic."""
    n, a = np.broadcast_arrays(_f(agents), _f(traffic))
    return np.where(a > 0, _erlang_c_from_b(n, a, erlang_b(n, a)), 0.0)


def service_level(agents: ArrayLike, rate_per_s: ArrayLike, aht_s: ArrayLike, answer_within_s: float) -> FloatArray:
    """Erlang C fraction of contacts answered within ``answer_within_s`` seconds."""
    a = offered_traffic(rate_per_s, aht_s)
    n, a, aht = np.broadcast_arrays(_f(agents), a, _f(aht_s))
    safe_aht = np.where(a > 0, aht, 1.0)
    c = erlang_c(n, a)
    with np.errstate(over="ignore", invalid="ignore"):
        sl = 1.0 - c * np.exp(-(n - a) * answer_within_s / safe_aht)
    return np.where(a > 0, np.where(n > a, np.clip(sl, 0.0, 1.0), 0.0), 1.0)


def average_speed_of_answer(agents: ArrayLike, rate_per_s: ArrayLike, aht_s: ArrayLike) -> FloatArray:
    """Erlang C mean wait in seconds over all contacts; inf when agents <= traffic."""
    a = offered_traffic(rate_per_s, aht_s)
    n, a, aht = np.broadcast_arrays(_f(agents), a, _f(aht_s))
    with np.errstate(divide="ignore", invalid="ignore"):
        asa = erlang_c(n, a) * np.where(a > 0, aht, 1.0) / (n - a)
    return np.where(a > 0, np.where(n > a, asa, np.inf), 0.0)


def occupancy(agents: ArrayLike, rate_per_s: ArrayLike, aht_s: ArrayLike) -> FloatArray:
    """Fraction of agent time spent handling (traffic / agents, at most 1; 0 with no demand)."""
    a = offered_traffic(rate_per_s, aht_s)
    n, a = np.broadcast_arrays(_f(agents), a)
    with np.errstate(divide="ignore", invalid="ignore"):
        occ = a / n
    return np.where(a > 0, np.where(n > 0, np.minimum(occ, 1.0), 1.0), 0.0)


# ----------------------------------------------------------------------- square-root staffing guess


def _halfin_whitt_wait(beta: FloatArray) -> FloatArray:
    """Halfin-Whitt limit of P(wait) for n = a + beta·sqrt(a)."""
    ratio = beta * special.ndtr(beta) / np.exp(-0.5 * beta * beta) * np.sqrt(2.0 * np.pi)
    return _f(1.0 / (1.0 + ratio))


_Z_GRID = np.logspace(-7.0, 5.0, 481)


def _beta_table(objective: Any) -> FloatArray:
    """beta on _Z_GRID solving objective(beta, z) = 0 (decreasing in beta) by vectorised bisection."""
    lo = np.full(_Z_GRID.shape, 1e-9)
    hi = np.full(_Z_GRID.shape, 40.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = objective(mid, _Z_GRID) > 0
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return hi


def _guess_beta(z: FloatArray, objective: Any) -> FloatArray:
    table = _beta_table(objective)
    return _f(np.interp(np.log(np.maximum(z, 1e-300)), np.log(_Z_GRID), table))


def _staffing_guess(a: FloatArray, tau: FloatArray, target_sl: float, asa_ratio: FloatArray | None) -> FloatArray:
    """Square-root staffing guess for the smallest n meeting the service level (and ASA) targets."""
    root = np.sqrt(a)
    miss = np.log1p(-target_sl) if target_sl < 1.0 else np.log(1e-16)
    with np.errstate(divide="ignore"):
        beta = _guess_beta(root * tau, lambda b, z: np.log(_halfin_whitt_wait(b)) - b * z - miss)
        if asa_ratio is not None:  # ASA/aht = P(wait) / (beta·sqrt(a))
            beta = np.maximum(beta, _guess_beta(root * asa_ratio,
                                                lambda b, z: _halfin_whitt_wait(b) / b - z))
    return a + beta * root


# ------------------------------------------------------------------------------- Erlang C requirement


def _erlang_c_window(
    start: FloatArray, a: FloatArray, tau: FloatArray, aht: FloatArray, b_start: FloatArray,
    target_sl: float, max_asa_s: float | None,
) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """Which of the WINDOW counts start, start+1, … meet the targets, and B at the last count."""
    meets = np.empty((start.size, WINDOW), dtype=bool)
    b = b_start
    for col in range(WINDOW):
        n = start + col
        if col:
            b = a * b / (n + a * b)
        c = n * b / (n - a * (1.0 - b))
        ok = 1.0 - c * np.exp(-(n - a) * tau) >= target_sl
        if max_asa_s is not None:
            ok &= c * aht / (n - a) <= max_asa_s
        meets[:, col] = ok
    return meets, b


def _required_erlang_c(a: FloatArray, aht: FloatArray, target_sl: float, answer_within_s: float,
                       max_asa_s: float | None) -> FloatArray:
    """Smallest n > a meeting SL (and ASA), for a > 0; exact, windowed search around the guess."""
    tau = answer_within_s / aht
    asa_ratio = None if max_asa_s is None else max_asa_s / aht
    n_min = np.floor(a) + 1.0
    guess = np.ceil(_staffing_guess(a, tau, target_sl, asa_ratio))
    start = np.maximum(n_min, guess - WINDOW // 2)
    answer = np.zeros_like(a)
    todo = np.arange(a.size)
    b_start = erlang_b(start, a)
    limit = a + 200.0 * np.sqrt(a) + 1000.0
    while todo.size:
        aa, st = a[todo], start[todo]
        meets, b_last = _erlang_c_window(st, aa, tau[todo], aht[todo], b_start, target_sl, max_asa_s)
        found: npt.NDArray[np.bool_] = np.asarray(meets.any(axis=1), dtype=bool)
        first = np.argmax(meets, axis=1)
        below_unknown = meets[:, 0] & (st > n_min[todo])
        done = found & ~below_unknown
        answer[todo[done]] = st[done] + first[done]
        go_up = ~found
        go_down = below_unknown
        over = go_up & (st + WINDOW > limit[todo])
        if over.any():
            index = int(todo[np.flatnonzero(over)[0]])
            raise Infeasible(
                f"period {index}: no agent count up to {int(limit[index])} meets a {target_sl:.6g} service "
                f"level for {a[index]:.6g} Erlangs", field="target_sl")
        new_start = st.copy()
        new_start[go_up] = st[go_up] + WINDOW
        new_start[go_down] = np.maximum(n_min[todo][go_down], st[go_down] - WINDOW)
        keep = go_up | go_down
        next_b = np.empty(int(keep.sum()))
        up_in_keep = go_up[keep]
        n_next = new_start[keep]
        next_b[up_in_keep] = (aa[keep] * b_last[keep] / (n_next + aa[keep] * b_last[keep]))[up_in_keep]
        down_idx = ~up_in_keep
        if down_idx.any():
            next_b[down_idx] = erlang_b(n_next[down_idx], aa[keep][down_idx])
        start[todo[keep]] = n_next
        todo = todo[keep]
        b_start = next_b
    return answer


def required_agents(
    rate_per_s: ArrayLike,
    aht_s: ArrayLike,
    *,
    target_sl: float,
    answer_within_s: float,
    max_occupancy: float = 1.0,
    max_asa_s: float | None = None,
) -> IntArray:
    """Smallest agent count per period meeting every given target (Erlang C); 0 without demand.

    ``target_sl`` is a fraction in (0, 1] answered within ``answer_within_s`` seconds; agents must also
    keep occupancy (traffic / agents) at or below ``max_occupancy`` and the mean wait at or below
    ``max_asa_s`` when given.
    """
    _check_target(target_sl, answer_within_s)
    _check_occupancy(max_occupancy)
    if max_asa_s is not None and not (np.isfinite(max_asa_s) and max_asa_s > 0):
        raise InvalidInput(f"max ASA must be > 0 seconds, got {max_asa_s!r}", field="max_asa_s")
    a = offered_traffic(rate_per_s, aht_s)
    aht = np.broadcast_to(_f(aht_s), a.shape)
    out = np.zeros(a.shape, dtype=np.float64)
    live = a > 0
    if live.any():
        al = a[live]
        n_sl = _required_erlang_c(al, aht[live], target_sl, answer_within_s, max_asa_s)
        out[live] = np.maximum(n_sl, _occupancy_floor(al, max_occupancy))
    return out.astype(np.int64)


def _occupancy_floor(a: FloatArray, max_occupancy: float) -> FloatArray:
    """Smallest n with a / n <= max_occupancy (tolerant of the last bit of a float quotient)."""
    return np.ceil(a / max_occupancy * (1.0 - 1e-12))


# ------------------------------------------------------------------------------------------ Erlang A


@dataclass(frozen=True, slots=True)
class ErlangAMetrics:
    """Per-period performance of M/M/n+M: customers abandon after an exponential patience."""

    service_level: FloatArray
    """Share of all arrivals answered within the answer time (hang-ups count as not answered)."""
    abandon_rate: FloatArray
    """Share of arrivals that hang up before being answered."""
    asa_s: FloatArray
    """Mean time in queue over all arrivals (answered and abandoned), seconds."""
    wait_probability: FloatArray
    occupancy: FloatArray


def _log_a_series(x: FloatArray, y: FloatArray) -> FloatArray:
    """log of sum_j y^j / ((x+1)…(x+j)) by direct summation; used where y is well below x."""
    total = np.ones_like(x)
    term = np.ones_like(x)
    for j in range(1, 20000):
        term = term * y / (x + j)
        total += term
        if not (term > 1e-17 * total).any():
            break
    return _f(np.log(total))


def _log_palm_a(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """log A(x, y) = log(x e^y y^-x γ(x, y)) and the regularised P(x, y) it used."""
    p = _f(special.gammainc(x, y))
    with np.errstate(divide="ignore"):
        log_a = np.log(x) + special.gammaln(x) + np.log(p) + y - x * np.log(y)
    bad = ~np.isfinite(log_a) | (p < 1e-250)
    if bad.any():
        log_a[bad] = _log_a_series(x[bad], y[bad])
    return _f(log_a), p


def _erlang_a_core(
    n: FloatArray, a: FloatArray, aht: FloatArray, patience: FloatArray, answer_within_s: float | FloatArray,
    b: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """SL, P(abandon), P(wait) and occupancy for n >= 1, a > 0, given Erlang B b = B(n, a)."""
    r = patience / aht
    x = n * r
    y = a * r
    log_big_a, p_xy = _log_palm_a(x, y)
    inv_big_a = np.exp(-log_big_a)  # A >= 1 may overflow when badly understaffed; 1/A never does
    with np.errstate(divide="ignore", over="ignore"):
        p_wait = 1.0 / (1.0 + (1.0 - b) * inv_big_a / b)  # A·B / (1 + (A - 1)·B)
    rho = a / n
    with np.errstate(over="ignore"):  # 1/A/ρ + 1 - 1/ρ written so a tiny ρ gives -inf (clipped), not inf - inf
        p_ab_given_wait = np.clip(1.0 + (inv_big_a - 1.0) / rho, 0.0, 1.0)
    p_ab = p_wait * p_ab_given_wait
    shrink = np.exp(-answer_within_s / patience)
    with np.errstate(invalid="ignore", divide="ignore"):
        tail_ratio = _f(special.gammainc(x, y * shrink)) / p_xy
    tail = np.where(np.isfinite(tail_ratio), tail_ratio, 0.0)
    tiny = p_xy <= 1e-250
    if tiny.any():
        tail[tiny] = _tail_ratio_small(x[tiny], y[tiny], np.broadcast_to(shrink, x.shape)[tiny])
    tail = np.clip(tail, 0.0, 1.0)
    # answered within t among all arrivals: E[exp(-theta·V); 0 < V <= t] over the offered wait V,
    # = P(W>0)·(x/y)·[P(x+1, y) - P(x+1, y·s)] / P(x, y), and P(x+1, u) = P(x, u) - u^x e^-u / Γ(x+1)
    with np.errstate(over="ignore"):
        log_s = -answer_within_s / patience
        edge = inv_big_a - np.exp(np.minimum(x * log_s + y * (1.0 - shrink) - log_big_a, 700.0))
        answered_late_ratio = np.clip((1.0 - tail - edge) / rho, 0.0, 1.0)  # a tiny ρ: inf, clipped
    sl = np.clip(1.0 - p_wait + p_wait * answered_late_ratio, 0.0, 1.0)
    occ = np.minimum(a * (1.0 - p_ab) / n, 1.0)
    return sl, p_ab, p_wait, occ


def _tail_ratio_small(x: FloatArray, y: FloatArray, shrink: FloatArray) -> FloatArray:
    """γ(x, y·s) / γ(x, y) where γ underflows: the ratio of the two convergent series, times s^x."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = x * np.log(shrink) - y * shrink + y + _log_a_series(x, y * shrink) - _log_a_series(x, y)
    return _f(np.exp(log_ratio))


CLOSE_CALL = 1e-4
"""``_erlang_a_fast`` results (service level, abandonment, occupancy: absolute) this close to a target
are re-evaluated by ``_erlang_a_core`` and ``erlang_b`` before deciding; the fast ones, with
``_erlang_b_fast``, are within ~2e-6 of them."""

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)


def _erlang_a_fast(
    n: FloatArray, a: FloatArray, aht: FloatArray, patience: FloatArray, answer_within_s: float, b: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """SL, P(abandon) and occupancy of ``_erlang_a_core`` to ~1e-6, without its incomplete gammas.

    P(answered within t | wait) = x·J/A(x, y) with J = ∫_0^τ exp(-(x+1)w + y(1-e^-w)) dw, τ = t/patience
    (substituting u = y·e^-w in P(x, y) - P(x, y·e^-τ) and integrating by parts), and J is a smooth
    integral over a short interval: 8-point Gauss-Legendre is good to ~3e-7 where the exponent's
    slope·τ/2 <= 6 and its curvature y·τ² <= 16. Elsewhere ``_erlang_a_core`` evaluates the period.
    1/A(x, y) comes from ``_inverse_palm_a_uniform`` where that applies. Decisions within CLOSE_CALL of a
    target must be re-evaluated with ``_erlang_a_core``.
    """
    if not n.size:
        return n.copy(), n.copy(), n.copy()
    r = patience / aht
    x = n * r
    y = a * r
    tau = answer_within_s / patience
    slope = np.maximum(np.abs(y - x - 1.0), np.abs(y * np.exp(-tau) - x - 1.0))
    smooth = (slope * tau <= 12.0) & (y * tau * tau <= 16.0)
    if not smooth.all():
        sl, p_ab, occ = np.empty_like(n), np.empty_like(n), np.empty_like(n)
        rough = ~smooth
        sl[rough], p_ab[rough], _, occ[rough] = _erlang_a_core(
            n[rough], a[rough], aht[rough], patience[rough], answer_within_s, b[rough])
        if smooth.any():
            sl[smooth], p_ab[smooth], occ[smooth] = _erlang_a_fast(
                n[smooth], a[smooth], aht[smooth], patience[smooth], answer_within_s, b[smooth])
        return sl, p_ab, occ
    inv_big_a, uniform = _inverse_palm_a_uniform(x, y)
    if not uniform.all():
        inv_big_a[~uniform] = np.exp(-_log_palm_a(x[~uniform], y[~uniform])[0])
    with np.errstate(divide="ignore", over="ignore"):
        p_wait = 1.0 / (1.0 + (1.0 - b) * inv_big_a / b)  # A·B / (1 + (A - 1)·B)
    rho = a / n
    with np.errstate(over="ignore"):  # as in _erlang_a_core: no inf - inf for a tiny ρ
        p_ab = p_wait * np.clip(1.0 + (inv_big_a - 1.0) / rho, 0.0, 1.0)
    within = _answered_in_time_given_wait(x, y, tau, inv_big_a)
    sl = np.clip(1.0 - p_wait * (1.0 - within), 0.0, 1.0)
    occ = np.minimum(a * (1.0 - p_ab) / n, 1.0)
    return sl, p_ab, occ


def _temme(shape: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pieces of Temme's uniform expansion of the regularised incomplete gamma at (shape, z), DLMF 8.12:
    s = eta·sqrt(shape/2) with eta = sign(λ-1)·sqrt(2(λ - 1 - ln λ)), λ = z/shape, so that
    Q(shape, z) = erfc(s)/2 + exp(-s²)/sqrt(2π·shape)·c with c = c0 + c1/shape (two terms), and
    exp(-corr) for Stirling's series log Γ(shape+1) = (shape+½)·ln shape - shape + ½·ln 2π + corr."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sigma = (z - shape) / shape
        eta = np.sign(sigma) * np.sqrt(np.maximum(-2.0 * (np.log1p(sigma) - sigma), 0.0))
        scaled = eta * np.sqrt(0.5 * shape)
        inv_sigma = 1.0 / sigma
        inv_eta = 1.0 / eta
        inv_shape = 1.0 / shape
        c0 = inv_sigma - inv_eta
        c1 = inv_eta * inv_eta * inv_eta - inv_sigma * (inv_sigma * (inv_sigma + 1.0) + 1.0 / 12.0)
        near = np.flatnonzero(np.abs(eta) < 0.01)  # the closed forms cancel: Taylor series at eta = 0
        if near.size:
            e = eta[near]
            c0[near] = -1.0 / 3.0 + e / 12.0 - e * e * (2.0 / 135.0)
            c1[near] = -1.0 / 540.0 - e / 288.0
        c0 += c1 * inv_shape
        inv2 = inv_shape * inv_shape
        corr = inv_shape * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)))
        exp_minus_corr = 1.0 - corr * (1.0 - corr * (0.5 - corr * (1.0 / 6.0 - corr / 24.0)))  # corr < 0.003
    return _f(scaled), _f(c0), _f(exp_minus_corr)


def _inverse_palm_a_uniform(x: FloatArray, y: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """1/A(x, y) from ``_temme`` and where that holds to ~1e-5 (x >= 30, |s| <= 6); elsewhere garbage.

    With P(x, y) = 1 - Q and Stirling's Γ(x+1), A = x e^y y^-x Γ(x) P collapses to
    exp(corr)·(sqrt(πx/2)·erfcx(-s) - c).
    """
    scaled, c, exp_minus_corr = _temme(x, y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv_big_a = exp_minus_corr / (np.sqrt(0.5 * np.pi * x) * special.erfcx(-scaled) - c)
    uniform = (x >= 30.0) & (np.abs(scaled) <= 6.0) & (inv_big_a > 0.0) & (inv_big_a <= 1.0)
    return _f(inv_big_a), uniform


def _erlang_b_fast(n: FloatArray, a: FloatArray) -> FloatArray:
    """Erlang B to ~4e-6 relative: B = pmf(n; a) / Q(n+1, a) from ``_temme`` at (m, a), m = n+1, which
    collapses to (m/a)·exp(-corr)/(sqrt(πm/2)·erfcx(s) + c); ``erlang_b`` where that does not hold."""
    s = n + 1.0
    scaled, c, exp_minus_corr = _temme(s, a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = s / a * exp_minus_corr / (np.sqrt(0.5 * np.pi * s) * special.erfcx(scaled) + c)
    uniform = (s >= 30.0) & (np.abs(scaled) <= 6.0) & (b > 0.0) & (b <= 1.0)
    if not uniform.all():
        b[~uniform] = erlang_b(n[~uniform], a[~uniform])
    return _f(b)


def _answered_in_time_given_wait(x: FloatArray, y: FloatArray, tau: FloatArray, inv_big_a: FloatArray) -> FloatArray:
    """x·J/A(x, y) by Gauss-Legendre on [0, τ], one node at a time in cache-sized buffers."""
    neg_x = -(x + 1.0)
    total = np.zeros_like(x)
    term = np.empty_like(x)
    scratch = np.empty_like(x)
    shared = bool(np.all(tau == tau[0]))  # one answer-time/patience ratio: scalar nodes for every period
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        if shared:
            w = 0.5 * float(tau[0]) * (node + 1.0)
            np.multiply(neg_x, w, out=term)
            np.multiply(y, -np.expm1(-w), out=scratch)
        else:
            w_arr = 0.5 * tau * (node + 1.0)
            np.multiply(neg_x, w_arr, out=term)
            np.multiply(y, -np.expm1(-w_arr), out=scratch)
        term += scratch
        np.exp(term, out=term)  # bounded: the exponent moves by at most slope·τ <= 12 over [0, τ]
        term *= weight
        total += term
    total *= 0.5 * tau * x * inv_big_a
    return _f(np.clip(total, 0.0, 1.0, out=total))


def _patience_array(patience_s: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    patience = np.broadcast_to(_f(patience_s), shape)
    bad = ~(np.isfinite(patience) & (patience > 0))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"patience must be > 0 seconds, got {float(patience.flat[index])!r}", field="patience_s")
    return patience


def erlang_a(agents: ArrayLike, rate_per_s: ArrayLike, aht_s: ArrayLike, patience_s: ArrayLike,
             answer_within_s: float) -> ErlangAMetrics:
    """Erlang A (Palm) metrics at the given agent counts, mean patience ``patience_s`` seconds."""
    if not (np.isfinite(answer_within_s) and answer_within_s > 0):
        raise InvalidInput(f"answer time must be > 0 seconds, got {answer_within_s!r}", field="answer_within_s")
    a0 = offered_traffic(rate_per_s, aht_s)
    n, a, aht = (np.array(v, dtype=np.float64) for v in np.broadcast_arrays(_f(agents), a0, _f(aht_s)))
    patience = _patience_array(patience_s, n.shape)
    sl = np.ones(n.shape)
    p_ab = np.zeros(n.shape)
    p_wait = np.zeros(n.shape)
    occ = np.zeros(n.shape)
    nobody = (a > 0) & (n <= 0)
    sl[nobody], p_ab[nobody], p_wait[nobody], occ[nobody] = 0.0, 1.0, 1.0, 1.0
    calc = (a > 0) & (n > 0)
    if calc.any():
        nc, ac = n[calc], a[calc]
        sl[calc], p_ab[calc], p_wait[calc], occ[calc] = _erlang_a_core(
            nc, ac, aht[calc], patience[calc], answer_within_s, erlang_b(nc, ac))
    return ErlangAMetrics(service_level=sl, abandon_rate=p_ab, asa_s=p_ab * patience,
                          wait_probability=p_wait, occupancy=occ)


def required_agents_erlang_a(
    rate_per_s: ArrayLike,
    aht_s: ArrayLike,
    patience_s: ArrayLike,
    *,
    target_sl: float,
    answer_within_s: float,
    max_occupancy: float = 1.0,
    max_asa_s: float | None = None,
    max_abandon: float | None = None,
) -> IntArray:
    """Smallest agent count per period meeting every target when callers abandon (Erlang A).

    Starts from a square-root staffing guess c whose coefficient is solved exactly on a small table
    (``_erlang_a_guess``), evaluates c, then walks one agent towards the answer (c-1 if c meets the
    targets, c+1 if not) with Erlang B carried by its recursion: when the answer is c or c+1, as it
    almost always is, two evaluations certify it. Periods the walk leaves open take Newton steps on
    the worst target's log-ratio. Evaluations use Temme's uniform expansion and a short quadrature
    (``_erlang_a_fast``, ``_erlang_b_fast``: within ~2e-6 of the exact formulas); a result within
    CLOSE_CALL = 1e-4 of any target is re-evaluated with the exact formulas of ``erlang_a`` before it
    decides, so the counts are those the exact formulas give.
    """
    _check_target(target_sl, answer_within_s)
    _check_occupancy(max_occupancy)
    if max_asa_s is not None and not (np.isfinite(max_asa_s) and max_asa_s > 0):
        raise InvalidInput(f"max ASA must be > 0 seconds, got {max_asa_s!r}", field="max_asa_s")
    if max_abandon is not None and not (np.isfinite(max_abandon) and 0 < max_abandon <= 1):
        raise InvalidInput(f"max abandon rate must be in (0, 1], got {max_abandon!r}", field="max_abandon")
    a_all = offered_traffic(rate_per_s, aht_s)
    answer = np.zeros(a_all.shape, dtype=np.float64)
    live = np.flatnonzero(a_all > 0)
    if not live.size:
        return answer.astype(np.int64)
    a = a_all[live]
    aht = np.broadcast_to(_f(aht_s), a_all.shape)[live]
    patience = _patience_array(patience_s, a_all.shape)[live]
    miss = np.log1p(-target_sl) if target_sl < 1.0 else np.log(1e-300)

    def probe(n: FloatArray, idx: IntArray, b: FloatArray | None = None
              ) -> tuple[FloatArray, npt.NDArray[np.bool_], FloatArray]:
        """Worst target's log-ratio (<= 0 when met), whether all are met, and B(n)."""
        aa = a[idx]
        b = _erlang_b_fast(n, aa) if b is None else b
        pat = patience[idx]
        sl, p_ab, occ = _erlang_a_fast(n, aa, aht[idx], pat, answer_within_s, b)
        close = (np.abs(sl - target_sl) <= CLOSE_CALL) | (np.abs(occ - max_occupancy) <= CLOSE_CALL)
        if max_asa_s is not None:
            close |= np.abs(p_ab - max_asa_s / pat) <= CLOSE_CALL
        if max_abandon is not None:
            close |= np.abs(p_ab - max_abandon) <= CLOSE_CALL
        if close.any():  # decide near-ties exactly as erlang_a() reports them
            nc, ac = n[close], aa[close]
            sl[close], p_ab[close], _, occ[close] = _erlang_a_core(
                nc, ac, aht[idx][close], pat[close], answer_within_s, erlang_b(nc, ac))
        ok = (sl >= target_sl) & (occ <= max_occupancy * (1.0 + 1e-12))
        with np.errstate(divide="ignore"):
            gap = np.maximum(np.log(np.maximum(1.0 - sl, 1e-300)) - miss, np.log(occ / max_occupancy))
            if max_asa_s is not None:
                ok &= p_ab * pat <= max_asa_s
                gap = np.maximum(gap, np.log(p_ab * pat / max_asa_s))
            if max_abandon is not None:
                ok &= p_ab <= max_abandon
                gap = np.maximum(gap, np.log(p_ab / max_abandon))
        return gap, ok, b

    limit = np.ceil(a + 200.0 * np.sqrt(a) + 1000.0)
    guess = _erlang_a_guess(a, aht, patience, target_sl, answer_within_s)
    if max_occupancy < 1.0:  # where occupancy binds, staffing is ample and few callers hang up
        guess = np.maximum(guess, _occupancy_floor(a, max_occupancy))
    # walk: evaluate c, then c-1 where c meets the targets or c+1 where it does not
    first = np.clip(np.ceil(guess), 1.0, limit)
    everyone = np.arange(a.size)
    gap_first, ok_first, b_first = probe(first, everyone)
    hi = np.where(ok_first, first, limit + 1.0)  # smallest count known to meet the targets
    lo = np.where(ok_first, 0.0, first)  # largest count known not to (0 agents never do)
    down = ok_first & (first > 1.0)
    up = ~ok_first & (first < limit)
    walk = np.flatnonzero(down | up)
    n_first, b_walk = first[walk], b_first[walk]
    a_walk, down_walk = a[walk], down[walk]
    with np.errstate(divide="ignore", invalid="ignore"):
        b_second = np.where(down_walk, n_first * b_walk / (a_walk * (1.0 - b_walk)),  # B(c-1) from B(c)
                            a_walk * b_walk / (n_first + 1.0 + a_walk * b_walk))  # B(c+1) from B(c)
    second = np.where(down_walk, n_first - 1.0, n_first + 1.0)
    gap_second, ok_second, _ = probe(second, walk, b_second)
    hi[walk] = np.where(ok_second, np.minimum(hi[walk], second), hi[walk])
    lo[walk] = np.where(ok_second, lo[walk], np.maximum(lo[walk], second))
    candidate = np.floor(0.5 * (lo + np.minimum(hi, limit + 1.0))) + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):  # Newton on the pair the walk evaluated
        slope = np.where(down_walk, gap_first[walk] - gap_second, gap_second - gap_first[walk])
        below_n = np.where(down_walk, second, n_first)
        below_gap = np.where(down_walk, gap_second, gap_first[walk])
        root = below_n - below_gap / slope
    newton = np.isfinite(root) & (slope < 0)
    candidate[walk] = np.where(newton, np.ceil(root), candidate[walk])
    todo = np.flatnonzero(hi - lo > 1)
    rounds = 0
    while todo.size:
        rounds += 1
        low, h = lo[todo], hi[todo]
        upper = np.clip(candidate[todo], low + 1.0, np.minimum(h, limit[todo]))
        lower = upper - 1.0
        gap_u, ok_u, b_u = probe(upper, todo)
        gap_l = np.full(todo.size, np.nan)
        ok_l = np.zeros(todo.size, dtype=bool)
        inside = np.flatnonzero(lower > low)
        if inside.size:
            n_in, b_in = upper[inside], b_u[inside]
            b_below = n_in * b_in / (a[todo[inside]] * (1.0 - b_in))  # B(n-1) from B(n)
            gap_l[inside], ok_l[inside], _ = probe(lower[inside], todo[inside], b_below)
        new_hi = np.where(ok_l, lower, np.where(ok_u, upper, h))
        new_lo = np.where(ok_l, low, np.where(ok_u, lower, upper))
        hi[todo], lo[todo] = new_hi, new_lo
        stuck = new_lo >= limit[todo]
        if stuck.any():
            index = int(live[todo[np.flatnonzero(stuck)[0]]])
            raise Infeasible(
                f"period {index}: no agent count up to {int(limit[todo][stuck][0])} meets the targets for "
                f"{a_all[index]:.6g} Erlangs", field="target_sl")
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = gap_u - gap_l  # per agent
            root = lower - gap_l / slope
        newton = np.isfinite(root) & (slope < 0) & (rounds % 4 != 0)
        middle = np.floor(0.5 * (new_lo + np.minimum(new_hi, limit[todo] + 1.0))) + 1.0
        candidate[todo] = np.where(newton, np.ceil(root), middle)
        todo = todo[hi[todo] - lo[todo] > 1]
    answer[live] = hi
    return answer.astype(np.int64)


def _erlang_a_guess(a: FloatArray, aht: FloatArray, patience: FloatArray, target_sl: float,
                    answer_within_s: float) -> FloatArray:
    """Square-root staffing guess n = a + beta·sqrt(a) for Erlang A.

    In the Halfin-Whitt-Garnett regime beta depends only on r = patience/aht and z = t·sqrt(a)/aht;
    beta(r, z) is solved by bisection on a small grid spanning the data at a reference load, then
    interpolated per period. Only a guess: the caller certifies every answer exactly.
    """
    r = patience / aht
    z = answer_within_s * np.sqrt(a) / aht
    r_grid = _span(r, 9)
    z_grid = _span(z, 33)
    a_refs = np.unique(np.clip(_span(a, 3), 4.0, None))
    rr, zz, aa = (m.ravel() for m in np.meshgrid(r_grid, z_grid, a_refs, indexing="ij"))
    root_ref = np.sqrt(aa)
    lo = np.full(rr.shape, -9.0)
    hi = np.full(rr.shape, 12.0)
    ones = np.ones(rr.shape)
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        n = np.maximum(aa + mid * root_ref, 0.5)
        sl = _erlang_a_core(n, aa, ones, rr, zz / root_ref, erlang_b(n, aa))[0]
        ok = sl >= target_sl
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    # corrections to the limit are O(1/sqrt(a)): interpolate between reference loads in 1/sqrt(a)
    root = np.sqrt(a)
    ref_order = np.arange(a_refs.size, dtype=np.float64)
    fk = (np.interp(1.0 / root, 1.0 / np.sqrt(a_refs[::-1]), ref_order[::-1]) if a_refs.size > 1
          else np.zeros_like(a))
    beta = _multilinear(hi, (r_grid.size, z_grid.size, a_refs.size),
                        (_fractional_index(r_grid, r), _fractional_index(z_grid, z), fk))
    return _f(a + beta * root)


def _span(values: FloatArray, points: int) -> FloatArray:
    low, high = float(values.min()), float(values.max())
    if high <= low * (1.0 + 1e-9):
        return np.array([low])
    return _f(np.geomspace(low, high, points))


def _multilinear(flat: FloatArray, shape: tuple[int, ...], fractions: tuple[FloatArray, ...]) -> FloatArray:
    """Interpolate a C-ordered table at fractional indices, one array per axis (size-1 axes skipped)."""
    strides = np.cumprod((1, *shape[:0:-1]))[::-1]
    base = np.zeros(fractions[0].shape, dtype=np.int64)
    axes: list[tuple[int, FloatArray]] = []  # (stride, weight of the upper neighbour)
    for size, stride, frac in zip(shape, strides, fractions, strict=True):
        if size > 1:
            i0 = np.minimum(np.maximum(frac, 0.0).astype(np.int64), size - 2)  # floor of a non-negative
            base += i0 * int(stride)
            axes.append((int(stride), np.clip(frac - i0, 0.0, 1.0)))
    total = np.zeros_like(fractions[0])
    for corner in range(1 << len(axes)):
        offset = 0
        weight: Any = 1.0
        for bit, (stride, w) in enumerate(axes):
            upper = corner >> bit & 1
            offset += stride * upper
            weight = weight * (w if upper else 1.0 - w)
        total += flat[base + offset] * weight
    return total


def _fractional_index(grid: FloatArray, values: FloatArray) -> FloatArray:
    if grid.size == 1:
        return np.zeros_like(values)
    step = np.log(grid[-1] / grid[0]) / (grid.size - 1)  # _span's grids are geometric: linear in log
    return _f(np.clip(np.log(values * (1.0 / grid[0])) * (1.0 / step), 0.0, grid.size - 1.0))
