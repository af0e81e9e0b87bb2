"""Ground truth on planted families you did not tune on: recovery per proposer and iterations.

Usage: python benchmarks/ground_truth.py [--seeds held-out|development|101,102]
       [--families 2] [--units 12] [--iterations 10] [--checkpoints 0 2 5 10]
       [--proposers lexicon smollm2+fallback gemma3-270m+fallback] [--keep-seed-matches]

Each planted family (``planted-family:SEED``) is a fresh planted model drawn from a seed: single
colours, single patterns, AND and OR units, dense and sparse. Report on
``HELD_OUT_SEEDS`` (the default); ``DEVELOPMENT_SEEDS`` are the ones to tune on.

For every unit the loop runs with the procedural renderer and (unless
``--keep-seed-matches``) a seed vocabulary from which every concept that already names the unit
is removed: otherwise the benchmark would measure the seed list. The runs share a fresh
concept atlas that is never built (no broad first look, so each initial pool is the seed list):
it only keeps each concept's layer rows, so a concept is rendered and forwarded once for all
units and proposers, with the same scores as without it. A unit counts as recovered at
``k`` iterations when the best label among the concepts scored up to iteration ``k`` names the
planted attribute (``FamilyUnit.matches``; an AND unit needs both words) AND its AUC is at least
0.8: a label at chance does not count even if it contains the word. For OR units the run's
polysemanticity view is checked too: both planted attributes must show up, in two different
groups.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from offline_loop import PROPOSER_SPECS, SeedFilter  # the same proposers and seed filter

from line_core.analysis import polysemanticity
from line_core.config import ExplainConfig
from line_core.engine import start
from line_core.generators import GENERATORS
from line_core.proposers import PROPOSERS
from line_core.record import load_history
from line_core.record.history import RunHistory, best_of
from line_core.targets import load_target
from line_core.targets.planted_family import (
    ATTRIBUTE_GROUPS,
    DEVELOPMENT_SEEDS,
    HELD_OUT_SEEDS,
    FamilyUnit,
)

#: A recovered label must also score: a label at chance does not count.
MIN_AUC = 0.8


@dataclass
class UnitResult:
    """What one run on one planted unit found."""

    seed: int
    unit: FamilyUnit
    label: str
    auc: float
    recovered_at: dict[int, bool]
    first_recovered: int | None
    or_groups: bool | None
    seconds: float


@dataclass
class ProposerTable:
    """Every unit result of one proposer."""

    name: str
    results: list[UnitResult] = field(default_factory=list)


def names_attribute(text: str, attribute: str) -> bool:
    """Whether a phrase names one planted attribute (every keyword group has a word in it)."""
    words = set(text.lower().replace("-", " ").split())
    return all(words & group for group in ATTRIBUTE_GROUPS[attribute])


def recovered(history: RunHistory, unit: FamilyUnit, upto: int) -> bool:
    """Whether the best label scored up to iteration ``upto`` names the unit and scores."""
    best = best_of(r for r in history.records if r.iteration <= upto)
    return best is not None and unit.matches(best.concept) and best.auc >= MIN_AUC


def or_separated(history: RunHistory, unit: FamilyUnit) -> bool:
    """Whether both OR attributes appear in the polysemanticity view, in different groups."""
    groups = polysemanticity(history).to_dict()["groups"]
    attributes = unit.recipe[1:]
    homes = []
    for attribute in attributes:
        homes.append({
            i for i, g in enumerate(groups)
            if any(names_attribute(c, attribute) for c in g["concepts"])
        })  # fmt: skip
    first, second = homes
    return any(a != b for a in first for b in second) and bool(first) and bool(second)


def run_unit(seed: int, unit: FamilyUnit, target, generator, proposer, spec: str,
             iterations: int, checkpoints: Sequence[int], keep: bool) -> UnitResult:
    """One loop on one planted unit, in a throw-away runs folder."""
    gen = generator if keep else SeedFilter(generator, unit)
    with tempfile.TemporaryDirectory() as runs:
        config = ExplainConfig(model=f"planted-family:{seed}", layer="units", neuron=unit.index,
                               proposer=spec, iterations=iterations, runs_dir=runs)
        started = time.perf_counter()
        explainer = start(config, target=target, generator=gen, proposer=proposer).explainer
        list(explainer.run())
        seconds = time.perf_counter() - started
        history = load_history(explainer.store.run_dir)
    best = history.best()
    at = {k: recovered(history, unit, k) for k in checkpoints}
    last = max(r.iteration for r in history.records)
    first = next((k for k in range(last + 1) if recovered(history, unit, k)), None)
    poly = or_separated(history, unit) if unit.kind == "or" else None
    return UnitResult(seed, unit, best.concept, float(best.auc), at, first, poly, seconds)


def _share(hits: int, total: int) -> str:
    return f"{hits}/{total}" if total else "-"


def print_table(tables: list[ProposerTable], checkpoints: Sequence[int]) -> None:
    """Recovery per proposer at each checkpoint, per kind, and OR separation."""
    head = " ".join(f"{'@' + str(k):>7s}" for k in checkpoints)
    kinds = ("colour", "pattern", "and", "or")
    print(f"\n{'proposer':22s} {head} " + " ".join(f"{k:>7s}" for k in kinds)
          + f" {'sparse':>7s} {'dense':>7s} {'OR 2 groups':>11s} {'median it':>9s} {'s/run':>6s}")
    for table in tables:
        rs = table.results
        at = " ".join(f"{_share(sum(r.recovered_at[k] for r in rs), len(rs)):>7s}"
                      for k in checkpoints)
        final = checkpoints[-1]
        by_kind = " ".join(
            f"{_share(sum(r.recovered_at[final] for r in rs if r.unit.kind == k), sum(r.unit.kind == k for r in rs)):>7s}"  # noqa: E501
            for k in kinds
        )
        sparse = [r for r in rs if r.unit.sparse]
        dense = [r for r in rs if not r.unit.sparse]
        ors = [r for r in rs if r.or_groups is not None]
        firsts = [r.first_recovered for r in rs if r.first_recovered is not None]
        median = f"{statistics.median(firsts):.0f}" if firsts else "-"
        print(f"{table.name:22s} {at} {by_kind} "
              f"{_share(sum(r.recovered_at[final] for r in sparse), len(sparse)):>7s} "
              f"{_share(sum(r.recovered_at[final] for r in dense), len(dense)):>7s} "
              f"{_share(sum(bool(r.or_groups) for r in ors), len(ors)):>11s} {median:>9s} "
              f"{statistics.mean(r.seconds for r in rs):6.1f}")
    print("\nmisses (planted -> final label, AUC):")
    for table in tables:
        misses = [f"{r.seed}/{r.unit.index} {r.unit.concept}{' (sparse)' if r.unit.sparse else ''}"
                  f" -> {r.label!r} {r.auc:.2f}"
                  for r in table.results if not r.recovered_at[checkpoints[-1]]]
        print(f"  {table.name}: {'; '.join(misses) or 'none'}")


def parse_seeds(text: str, families: int) -> list[int]:
    """``held-out`` / ``development`` (first ``families`` of each) or a comma list."""
    if text == "held-out":
        return list(HELD_OUT_SEEDS[:families])
    if text == "development":
        return list(DEVELOPMENT_SEEDS[:families])
    return [int(s) for s in text.split(",") if s.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="held-out")
    parser.add_argument("--families", type=int, default=2)
    parser.add_argument("--units", type=int, default=12)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--checkpoints", type=int, nargs="*", default=[0, 2, 5, 10])
    parser.add_argument("--proposers", nargs="*", default=["lexicon", "smollm2+fallback",
                                                           "gemma3-270m+fallback"])
    parser.add_argument("--keep-seed-matches", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("LINE_ATLAS_DIR", tempfile.mkdtemp(prefix="line-gt-atlas-"))
    seeds = parse_seeds(args.seeds, args.families)
    checkpoints = sorted({*(k for k in args.checkpoints if k <= args.iterations), args.iterations})
    generator = GENERATORS.create("procedural")
    pool = "seed matches kept" if args.keep_seed_matches else "seed concepts naming it removed"
    print(f"# Ground truth: planted families {seeds} ({args.units} units each), "
          f"{args.iterations} iterations, AUC >= {MIN_AUC}, {pool}")
    tables = []
    for name in args.proposers:
        spec, options = PROPOSER_SPECS[name]
        proposer = PROPOSERS.create(spec, generator=generator, seed=42, **options)
        table = ProposerTable(name)
        for seed in seeds:
            target = load_target(f"planted-family:{seed}:{args.units}")
            for unit in target.extra["family_units"]:
                table.results.append(run_unit(seed, unit, target, generator, proposer, spec,
                                              args.iterations, checkpoints,
                                              args.keep_seed_matches))
        tables.append(table)
        print(f"  {name}: done", flush=True)
    print_table(tables, checkpoints)


if __name__ == "__main__":
    main()
