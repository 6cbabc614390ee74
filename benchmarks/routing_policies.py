"""The live routing policy against greedy and longest-idle, with common random numbers.

A generated 60-agent service desk (3 queues, full-time cyclic roster, patience 30 min), one day,
simulated under each policy with the same arrivals, handle times and patience draws per replication
(common random numbers), so the paired differences to the live policy have tight 95% intervals.
Two loads: the generator's volume ("loaded") and 60% of it ("overstaffed"). Policies:
live (optimal, 2 s batch grid, dispatch at once without contention), batch-only (the same without
dispatch-at-once: every decision waits for the grid), greedy and longest-idle (both at every event).

Run: .venv/bin/python -m benchmarks.routing_policies [--replications 6] [--workers 2]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import date

import numpy as np

from dispatcher.datagen import GeneratorConfig, default_templates, generate
from dispatcher.policy import GREEDY, LIVE, LONGEST_IDLE
from dispatcher.simulation.model import Demand, SimulationConfig, staffing_from_roster
from dispatcher.simulation.replicate import Study, compare, run_study
from dispatcher.simulation.rosters import cyclic_roster
from dispatcher.simulation.scenarios import Scenario

KPIS = (("service_level", "SL", 100.0, "%"), ("asa_s", "ASA", 1.0, "s"), ("sla_Q1", "Q1 SLA", 100.0, "%"),
        ("abandon_rate", "aband.", 100.0, "%"))
POLICIES = (LIVE, replace(LIVE, name="batch-only", dispatch_at_once=False), GREEDY, LONGEST_IDLE)


def study(volume: float, replications: int) -> Study:
    data = generate(GeneratorConfig(days=7, horizon_days=7, agents=60, seed=7))
    truth = data.truth[~data.truth["is_history"]]
    day = date(2026, 1, 12)
    one_day = truth[truth["period_start"].dt.date == day]
    queues = tuple(dict.fromkeys(one_day["queue"]))
    demand = Demand(
        queues, one_day["period_start"].iloc[0].to_pydatetime(), 900.0,
        np.stack([one_day[one_day["queue"] == q]["expected_volume"].to_numpy() for q in queues], axis=1),
        np.stack([one_day[one_day["queue"] == q]["expected_aht_s"].to_numpy() for q in queues], axis=1),
    )
    roster = cyclic_roster(data.agents, [t for t in default_templates() if t.name.startswith("F")], day,
                           "America/New_York")
    staffing = staffing_from_roster(roster, data.agents, queues, demand.start)
    scenarios = tuple(Scenario(p.name, policy=p, volume_multiplier=volume) for p in POLICIES)
    return Study(demand, staffing, SimulationConfig(mean_patience_s=1800.0), scenarios,
                 replications=replications, seed=11)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for label, volume in (("overstaffed (60% volume)", 0.6), ("loaded (100% volume)", 1.0)):
        results = compare(run_study(study(volume, args.replications), workers=args.workers), "live")
        print(f"\n{label}, {args.replications} replications; Δ = policy − live [95% CI], paired")
        print(f"{'policy':<14}" + "".join(f"{name:>30}" for _, name, _, _ in KPIS))
        for policy in POLICIES:
            cells = []
            for kpi, _, scale, unit in KPIS:
                row = results[(results["scenario"] == policy.name) & (results["kpi"] == kpi)].iloc[0]
                cell = f"{row['mean'] * scale:.2f}{unit}"
                if policy.name != "live":
                    cell += (f" Δ{row['diff_vs_baseline'] * scale:+.2f} [{row['diff_ci95_lo'] * scale:+.2f},"
                             f"{row['diff_ci95_hi'] * scale:+.2f}]")
                cells.append(f"{cell:>30}")
            print(f"{policy.name:<14}" + "".join(cells))


if __name__ == "__main__":
    main()
