"""A/B of routing policies: a stable hash split of task ids, and KPI differences with 95% intervals.

The arm of a task is a pure function of (salt, task id): the same in every process, restart and
replica, so the live service and the simulator split identically. The report compares arms on the
per-task outcomes of :func:`dispatcher.scorecard.task_outcomes`: proportions (SLA, FCR, abandonment,
satisfied) with Wald intervals, means (ASA, AHT) with Welch intervals; B minus A throughout.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from dispatcher.errors import InvalidInput
from dispatcher.policy import BUILTIN_POLICIES, RoutingPolicy

if TYPE_CHECKING:  # pandas, scipy and the scorecard load lazily: the live dispatcher only splits
    import pandas as pd

    from dispatcher.scorecard import EventLog, OutcomeConfig

Arm = Literal["A", "B"]
T = TypeVar("T")
_SCALE = float(2**64)


def _check_share(share_b: float) -> None:
    if not 0.0 <= share_b <= 1.0:
        raise InvalidInput(f"share_b must be in [0, 1], got {share_b}", field="share_b")


def hash_unit(task_id: str, salt: str = "") -> float:
    """A uniform number in [0, 1) fixed by (salt, task id): blake2b, not Python's per-process hash."""
    digest = hashlib.blake2b(f"{salt}\x1f{task_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def arm_of(task_id: str, *, salt: str = "", share_b: float = 0.5) -> Arm:
    """Which policy serves this task: B for the lowest ``share_b`` of the hash range, else A."""
    _check_share(share_b)
    return "B" if hash_unit(task_id, salt) < share_b else "A"


def pick(task_id: str, a: T, b: T, *, salt: str = "", share_b: float = 0.5) -> T:
    """The policy (or anything) of this task's arm: how a router splits live or simulated traffic."""
    return b if arm_of(task_id, salt=salt, share_b=share_b) == "B" else a


def split(task_ids: Iterable[str], *, salt: str = "", share_b: float = 0.5) -> npt.NDArray[np.str_]:
    """Arms of many task ids at once (an array of 'A'/'B')."""
    _check_share(share_b)
    units = np.fromiter((hash_unit(t, salt) for t in task_ids), dtype=np.float64)
    return np.where(units < share_b, "B", "A")


UNITS = ("task", "agent")


@dataclass(frozen=True, slots=True)
class Experiment:
    """A running A/B test of two routing policies: each task (or agent) is served by the arm its
    stable hash picks, salted with the experiment's name."""

    name: str
    policy_a: RoutingPolicy
    policy_b: RoutingPolicy
    share_b: float = 0.5
    unit: str = "task"
    started_ms: int = 0

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise InvalidInput("an experiment needs a name", field="name")
        _check_share(self.share_b)
        if self.unit not in UNITS:
            raise InvalidInput(f"unit must be one of {UNITS}, got {self.unit!r}", field="unit")

    def arm(self, unit_id: str) -> Arm:
        return arm_of(unit_id, salt=self.name, share_b=self.share_b)

    def policy(self, arm: Arm) -> RoutingPolicy:
        return self.policy_b if arm == "B" else self.policy_a

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "policy_a": self.policy_a.to_dict(), "policy_b": self.policy_b.to_dict(),
                "share_b": self.share_b, "unit": self.unit, "started_ms": self.started_ms}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Experiment:
        def policy(key: str, default_name: str) -> RoutingPolicy:
            value = data.get(key)
            if isinstance(value, str):
                if value not in BUILTIN_POLICIES:
                    raise InvalidInput(f"{key}: no built-in policy {value!r} (known: {sorted(BUILTIN_POLICIES)})",
                                       field=key)
                return BUILTIN_POLICIES[value]
            try:
                return RoutingPolicy.from_dict(value, default_name=default_name)  # type: ignore[arg-type]
            except InvalidInput as exc:
                raise InvalidInput(f"{key}: {exc.message}", field=f"{key}.{exc.field}") from exc

        share = data.get("share_b", 0.5)
        if isinstance(share, bool) or not isinstance(share, int | float):
            raise InvalidInput(f"share_b must be a number in [0, 1], got {share!r}", field="share_b")
        started = data.get("started_ms", 0)
        return cls(name=str(data.get("name") or ""), policy_a=policy("policy_a", "A"), policy_b=policy("policy_b", "B"),
                   share_b=float(share), unit=str(data.get("unit", "task")),
                   started_ms=int(started) if isinstance(started, int | float) else 0)


@dataclass(frozen=True, slots=True)
class KpiDifference:
    kpi: str
    kind: Literal["proportion", "mean"]
    a: float
    b: float
    n_a: int
    n_b: int
    difference: float
    """b - a"""
    ci_low: float
    ci_high: float

    @property
    def significant(self) -> bool:
        """The 95% interval excludes zero."""
        return self.ci_low > 0 or self.ci_high < 0


@dataclass(frozen=True, slots=True)
class AbReport:
    policies: tuple[str, str]
    """What arms A and B ran (names from the log's policy column, or 'A'/'B')."""
    tasks: tuple[int, int]
    share_b: float
    sample_ratio_p: float
    """Chi-square p-value of the arm sizes against ``share_b``: tiny values mean the split is broken."""
    kpis: tuple[KpiDifference, ...]
    level: float = 0.95

    def kpi(self, name: str) -> KpiDifference:
        for diff in self.kpis:
            if diff.kpi == name:
                return diff
        raise InvalidInput(f"no kpi {name!r} in this report", field="kpi")

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{
            "kpi": d.kpi, "a": d.a, "b": d.b, "n_a": d.n_a, "n_b": d.n_b, "b_minus_a": d.difference,
            "ci_low": d.ci_low, "ci_high": d.ci_high, "significant": d.significant} for d in self.kpis])


def proportion_difference(kpi: str, a: npt.NDArray[np.float64], b: npt.NDArray[np.float64],
                          level: float = 0.95) -> KpiDifference:
    """Difference of two proportions (0/1 arrays, NaN ignored) with a Wald interval."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    n_a, n_b = len(a), len(b)
    p_a = float(a.mean()) if n_a else math.nan
    p_b = float(b.mean()) if n_b else math.nan
    z = NormalDist().inv_cdf(0.5 + level / 2)
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b) if n_a and n_b else math.nan
    diff = p_b - p_a
    return KpiDifference(kpi, "proportion", p_a, p_b, n_a, n_b, diff, diff - z * se, diff + z * se)


def mean_difference(kpi: str, a: npt.NDArray[np.float64], b: npt.NDArray[np.float64],
                    level: float = 0.95) -> KpiDifference:
    """Difference of two means (NaN ignored) with a Welch t interval."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    n_a, n_b = len(a), len(b)
    m_a = float(a.mean()) if n_a else math.nan
    m_b = float(b.mean()) if n_b else math.nan
    diff = m_b - m_a
    if n_a < 2 or n_b < 2:
        return KpiDifference(kpi, "mean", m_a, m_b, n_a, n_b, diff, math.nan, math.nan)
    v_a, v_b = float(a.var(ddof=1)) / n_a, float(b.var(ddof=1)) / n_b
    se = math.sqrt(v_a + v_b)
    if se == 0:
        return KpiDifference(kpi, "mean", m_a, m_b, n_a, n_b, diff, diff, diff)
    dof = (v_a + v_b) ** 2 / (v_a**2 / (n_a - 1) + v_b**2 / (n_b - 1))
    from scipy import stats

    t = float(stats.t.ppf(0.5 + level / 2, dof))
    return KpiDifference(kpi, "mean", m_a, m_b, n_a, n_b, diff, diff - t * se, diff + t * se)


def _arms_from_policy(created: pd.DataFrame, column: str, policies: Sequence[str] | None) -> tuple[
        npt.NDArray[np.str_], tuple[str, str]]:
    names = created[column].astype(str).str.strip()
    seen = sorted(set(names) - {""})
    chosen = tuple(policies) if policies else tuple(seen)
    if len(chosen) != 2:
        raise InvalidInput(f"column {column!r} must name exactly two policies, found {seen}", field=column)
    arms = np.where(names == chosen[0], "A", np.where(names == chosen[1], "B", ""))
    return arms, (chosen[0], chosen[1])


def ab_report(
    log: EventLog,
    *,
    salt: str = "",
    share_b: float = 0.5,
    start: datetime | None = None,
    end: datetime | None = None,
    policy_column: str = "policy",
    policies: Sequence[str] | None = None,
    outcome: OutcomeConfig | None = None,
    level: float = 0.95,
) -> AbReport:
    """Compare the two arms on tasks created in [start, end).

    Arms come from ``policy_column`` on the ``created`` events when the log has it (two policy names,
    the first alphabetically — or ``policies[0]`` — is A); otherwise from :func:`split` with ``salt``.
    """
    _check_share(share_b)
    if not 0 < level < 1:
        raise InvalidInput(f"level must be in (0, 1), got {level}", field="level")
    import pandas as pd

    from dispatcher.scorecard import EventKind, task_outcomes

    tasks = task_outcomes(log, config=outcome)
    if start is not None:
        tasks = tasks.loc[tasks["created_at"] >= pd.Timestamp(start)]
    if end is not None:
        tasks = tasks.loc[tasks["created_at"] < pd.Timestamp(end)]
    frame = log.frame
    created = frame.loc[frame["event"] == EventKind.CREATED].set_index("task_id").reindex(tasks.index)
    has_policy = policy_column in frame.columns and (created[policy_column].astype(str).str.strip() != "").any()
    if has_policy:
        arms, names = _arms_from_policy(created, policy_column, policies)
    else:
        arms, names = split(tasks.index, salt=salt, share_b=share_b), ("A", "B")
    in_a, in_b = arms == "A", arms == "B"
    n_a, n_b = int(in_a.sum()), int(in_b.sum())
    live = ~tasks["cancelled"].to_numpy()
    handle = _first_handle(log).reindex(tasks.index).to_numpy(dtype=float)

    def col(name: str, mask: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.float64]:
        values = tasks[name].to_numpy(dtype=float)
        return values if mask is None else np.where(mask, values, np.nan)

    sla = np.where(tasks["sla_decided"].to_numpy(), col("sla_met"), np.nan)
    abandon = col("abandoned", live)
    kpis = (
        proportion_difference("sla", sla[in_a], sla[in_b], level),
        mean_difference("asa_s", col("wait_s")[in_a], col("wait_s")[in_b], level),
        mean_difference("aht_s", handle[in_a], handle[in_b], level),
        proportion_difference("fcr", col("fcr")[in_a], col("fcr")[in_b], level),
        proportion_difference("abandonment", abandon[in_a], abandon[in_b], level),
        proportion_difference("satisfaction", col("satisfied")[in_a], col("satisfied")[in_b], level),
        proportion_difference("complaint_rate", col("complaint")[in_a], col("complaint")[in_b], level),
    )
    return AbReport(policies=names, tasks=(n_a, n_b), share_b=share_b,
                    sample_ratio_p=_sample_ratio_p(n_a, n_b, share_b), kpis=kpis, level=level)


def _first_handle(log: EventLog) -> pd.Series:
    from dispatcher.scorecard import EventKind

    done = log.frame.loc[log.frame["event"] == EventKind.COMPLETED]
    handle: pd.Series = done.groupby("task_id", sort=False)["handle_s"].first()
    return handle


def _sample_ratio_p(n_a: int, n_b: int, share_b: float) -> float:
    total = n_a + n_b
    if total == 0 or share_b in {0.0, 1.0}:
        return math.nan
    expected = np.array([total * (1 - share_b), total * share_b])
    chi2 = float((((np.array([n_a, n_b]) - expected) ** 2) / expected).sum())
    from scipy import stats

    return float(stats.chi2.sf(chi2, 1))


@dataclass(frozen=True, slots=True)
class Power:
    """What an arm comparison can detect now, and how many tasks the observed effect needs."""

    detectable: float
    """Smallest true |B - A| found significant (two-sided 5%) with probability ``power`` at today's n."""
    tasks_needed: float
    """Tasks in both arms together to detect the observed difference with that power (inf when it is 0)."""


def power_analysis(diff: KpiDifference, *, power: float = 0.8) -> Power:
    """Normal approximation from the interval itself: its half-width is z·se and se shrinks as 1/√n."""
    if not 0 < power < 1:
        raise InvalidInput(f"power must be in (0, 1), got {power}", field="power")
    n = diff.n_a + diff.n_b
    half = (diff.ci_high - diff.ci_low) / 2
    if not (n and math.isfinite(half)):
        return Power(math.nan, math.nan)
    se = half / NormalDist().inv_cdf(0.975)
    detectable = (NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(power)) * se
    effect = abs(diff.difference)
    needed = math.inf if effect == 0 or se == 0 else math.ceil(n * (detectable / effect) ** 2)
    return Power(detectable, float(needed))


def first_arm(now_ms: int, intervals_s: Sequence[float]) -> int:
    """Which arm (0 = A) picks first among shared agents or tasks at ``now_ms``: alternating from one
    batch slot to the next (slots of the longest batch interval, at least 1 s), so that neither arm
    always has the first pick at grid batches (which all fall on even seconds)."""
    slot_ms = max(1000.0, 1000.0 * max(intervals_s, default=0.0))
    return int(now_ms // slot_ms) % 2
