"""Polysemanticity benchmark: does the view tell one driver from two on planted units?

Usage: python benchmarks/polysemanticity.py [--seeds held-out|development|101,102]
       [--units 12] [--keep DIR] [--reanalyse DIR] [--verbose]

For every planted family (``planted-family:SEED:N``; each family holds at least one unit of
each kind: a colour, a pattern, an AND and an OR unit, the rest drawn, dense or sparse as
drawn; N = 12 by default, so the ten held-out families hold 120 units) the loop runs
on every unit with the default settings (lexicon proposer, procedural renderer, 10 iterations,
the default probe share), as one layer sweep per family on a fresh atlas folder; then the
run's polysemanticity report is read like the dashboard reads it. Printed:

* single-attribute units (colour, pattern) shown as exactly one group (target >= 90%);
* OR units shown as exactly two groups, one naming each planted attribute (target >= 80%);
* AND units shown as one group whose formula term or best concept names both attributes.

A group *names* an attribute when its formula term or its best concept does
(``FamilyUnit.matches`` of a one-attribute unit). Report on ``HELD_OUT_SEEDS``; tune only on
``DEVELOPMENT_SEEDS``. ``--keep`` keeps the run folders; ``--reanalyse`` re-reads kept folders
without running the loop (for changes to the analysis only).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("LINE_ATLAS_DIR", tempfile.mkdtemp(prefix="line-bench-atlas-"))

from line_core.analysis import PolysemanticityReport, polysemanticity  # noqa: E402
from line_core.config import ExplainConfig  # noqa: E402
from line_core.engine.sweep import plan_sweep  # noqa: E402
from line_core.record import load_history  # noqa: E402
from line_core.targets import load_target  # noqa: E402
from line_core.targets.planted_family import (  # noqa: E402
    DEVELOPMENT_SEEDS,
    HELD_OUT_SEEDS,
    FamilyUnit,
    make_unit,
)

KINDS = ("colour", "pattern", "or", "and")


@dataclass
class Outcome:
    """One unit's report judged against its ground truth."""

    seed: int
    unit: FamilyUnit
    groups: list[str]
    formula: str
    verdict: str
    ok: bool

    def line(self) -> str:
        mark = "ok  " if self.ok else "MISS"
        sparse = "sparse" if self.unit.sparse else "dense"
        return (
            f"{mark} seed {self.seed} unit {self.unit.index} {self.unit.kind:7s} {sparse:6s} "
            f"{self.unit.concept!r}: {len(self.groups)} group(s) {self.groups}; "
            f"formula {self.formula!r}"
        )


def names(attribute_unit: FamilyUnit, texts: list[str]) -> bool:
    """Whether any of the texts names the attribute."""
    return any(attribute_unit.matches(t) for t in texts if t)


def judge(unit: FamilyUnit, report: PolysemanticityReport) -> bool:
    """Whether the report shows the unit's planted structure (see the module docstring)."""
    groups = [[g.term, g.best_concept] for g in report.groups]
    if unit.kind in ("colour", "pattern"):
        return len(groups) == 1
    if unit.kind == "and":
        return len(groups) == 1 and names(unit, groups[0])
    parts = [make_unit(0, ("map", name)) for name in unit.recipe[1:]]
    if len(groups) != 2:
        return False
    straight = names(parts[0], groups[0]) and names(parts[1], groups[1])
    crossed = names(parts[0], groups[1]) and names(parts[1], groups[0])
    return straight or crossed


def run_family(seed: int, n_units: int, runs_dir: Path) -> dict[int, Path]:
    """Sweep every unit of a family with the default loop; unit index -> run folder."""
    model = f"planted-family:{seed}:{n_units}"
    config = ExplainConfig(model=model, layer="units", runs_dir=str(runs_dir))
    report = plan_sweep(config, "all", target=load_target(model)).run()
    failed = [o.neuron for o in report.failed]
    if failed:
        raise SystemExit(f"seed {seed}: units {failed} failed")
    return {o.neuron: Path(o.run_dir) for o in report.outcomes}


def analyse(seed: int, n_units: int, folders: dict[int, Path]) -> list[Outcome]:
    """Judge each unit's polysemanticity report."""
    units = load_target(f"planted-family:{seed}:{n_units}").extra["family_units"]
    out = []
    for unit in units:
        report = polysemanticity(load_history(folders[unit.index]))
        out.append(
            Outcome(
                seed,
                unit,
                [g.term for g in report.groups],
                report.formula,
                report.verdict,
                judge(unit, report),
            )
        )
    return out


def table(outcomes: list[Outcome], label: str) -> str:
    """The benchmark's table as markdown."""
    rows = [f"| {label} | units | shown correctly | share | target |", "|---|---|---|---|---|"]
    targets = {"single": ">= 90%", "or": ">= 80%", "and": "-"}
    kinds = {"single": ("colour", "pattern"), "or": ("or",), "and": ("and",)}
    what = {
        "single": "single attribute: exactly one group",
        "or": "OR: two groups, one per planted attribute",
        "and": "AND: one group naming both",
    }
    for key, members in kinds.items():
        chosen = [o for o in outcomes if o.unit.kind in members]
        hits = sum(o.ok for o in chosen)
        share = f"{hits / len(chosen):.0%}" if chosen else "-"
        rows.append(f"| {what[key]} | {len(chosen)} | {hits} | {share} | {targets[key]} |")
    return "\n".join(rows)


def seeds_from(text: str) -> list[int]:
    """``held-out``, ``development`` or a comma list of seeds."""
    if text == "held-out":
        return list(HELD_OUT_SEEDS)
    if text == "development":
        return list(DEVELOPMENT_SEEDS)
    return [int(s) for s in text.split(",") if s.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="held-out")
    parser.add_argument("--units", type=int, default=12, help="units per family (>= 4)")
    parser.add_argument("--keep", default=None, help="keep the run folders here")
    parser.add_argument("--reanalyse", default=None, help="analyse the folders kept here")
    parser.add_argument("--verbose", action="store_true", help="one line per unit")
    args = parser.parse_args()
    seeds = seeds_from(args.seeds)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    for seed in seeds:
        if args.reanalyse:
            index = json.loads((Path(args.reanalyse) / f"seed-{seed}.json").read_text())
            folders = {int(k): Path(v) for k, v in index.items()}
        else:
            root = Path(args.keep or tempfile.mkdtemp(prefix="line-bench-poly-")) / f"seed-{seed}"
            folders = run_family(seed, args.units, root)
            if args.keep:
                index = {k: str(v) for k, v in folders.items()}
                (Path(args.keep) / f"seed-{seed}.json").write_text(json.dumps(index))
        found = analyse(seed, args.units, folders)
        outcomes += found
        if args.verbose:
            for outcome in found:
                print(outcome.line(), flush=True)
    label = "seeds " + ",".join(str(s) for s in seeds)
    print(f"\n## Polysemanticity on planted families ({label}; {args.units} units each)\n")
    print(table(outcomes, "planted units"))
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
