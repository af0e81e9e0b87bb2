"""Offline loop benchmark: time split per stage, and planted-neuron recovery per proposer.

Usage: python benchmarks/offline_loop.py [--iterations 10] [--units 12] [--proposers ...]
       [--skip-default] [--hard]

Part 1 runs the offline default (EfficientNet-Lite0 default unit, procedural renderer, the
default proposer) and prints the share of time each stage took. Part 2 runs the loop on every
planted unit of the `planted` model with each proposer and prints how many planted concepts
the final label recovers (``PlantedUnit.matches``). ``--hard`` removes every seed-vocabulary
concept that already matches the planted unit, so the proposer has to find it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass

from line_core.config import DEFAULT_PROPOSER, ExplainConfig
from line_core.engine import start
from line_core.generators import GENERATORS
from line_core.proposers import PROPOSERS
from line_core.record import load_history
from line_core.record.events import IterationDone
from line_core.targets import load_target
from line_core.targets.planted_units import planted_units

PROPOSER_SPECS = {
    "lexicon": ("lexicon", {}),
    "smollm2+fallback": ("smollm2", {}),
    "smollm2": ("smollm2", {"fallback": False}),
    "gemma3-270m+fallback": ("gemma3-270m", {}),
    "gemma3-270m": ("gemma3-270m", {"fallback": False}),
}


@dataclass
class SeedFilter:
    """A generator whose seed vocabulary hides concepts that match a planted unit."""

    inner: object
    unit: object

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def seed_concepts(self) -> list[str]:
        return [c for c in self.inner.seed_concepts() if not self.unit.matches(c)]


def stage_split(iterations: int) -> None:
    with tempfile.TemporaryDirectory() as runs:
        config = ExplainConfig(iterations=iterations, runs_dir=runs)
        started = time.perf_counter()
        explainer = start(config).explainer
        setup = time.perf_counter() - started
        stages: dict[str, float] = {}
        for event in explainer.run():
            if isinstance(event, IterationDone):
                for k, v in event.stage_seconds.items():
                    stages[k] = stages.get(k, 0.0) + v
        total = time.perf_counter() - started
        best = explainer.best()
    loop_total = sum(stages.values())
    print(
        f"\n## Offline default: {config.model} / {explainer.parts.layer} / "
        f"unit {explainer.parts.neuron}, proposer {DEFAULT_PROPOSER}, {iterations} iterations"
    )
    print(f"label {best.concept!r}  AUC {best.auc:.3f}  MAD {best.mad:.2f}")
    print(f"set-up (load model, control set, proposer): {setup:.1f} s; total {total:.1f} s")
    print(f"{'stage':10s} {'seconds':>8s} {'share':>6s}")
    for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"{stage:10s} {seconds:8.2f} {seconds / loop_total:6.1%}")


def recovery(iterations: int, n_units: int, names: list[str], hard: bool) -> None:
    target = load_target("planted")
    units = planted_units()[:n_units]
    generator = GENERATORS.create("procedural")
    print(
        f"\n## Planted-neuron recovery ({len(units)} units, {iterations} iterations"
        f"{', hard: matching seed concepts removed' if hard else ''})"
    )
    print(f"{'proposer':22s} {'recovered':>9s} {'in seed pool':>12s} {'s/run':>6s}  misses")
    for name in names:
        spec, options = PROPOSER_SPECS[name]
        proposer = PROPOSERS.create(spec, generator=generator, seed=42, **options)
        hits, from_seed, seconds, misses = 0, 0, 0.0, []
        for unit in units:
            gen = SeedFilter(generator, unit) if hard else generator
            with tempfile.TemporaryDirectory() as runs:
                config = ExplainConfig(
                    model="planted",
                    layer="units",
                    neuron=unit.index,
                    proposer=spec,
                    iterations=iterations,
                    runs_dir=runs,
                )
                started = time.perf_counter()
                explainer = start(config, target=target, generator=gen, proposer=proposer).explainer
                list(explainer.run())
                seconds += time.perf_counter() - started
                history = load_history(explainer.store.run_dir)
            label = history.best().concept
            if unit.matches(label):
                hits += 1
                first = min(r.iteration for r in history.records if unit.matches(r.concept))
                from_seed += first == 0
            else:
                misses.append(f"{unit.concept}->{label}")
        print(
            f"{name:22s} {hits:4d}/{len(units):<4d} {from_seed:12d} "
            f"{seconds / len(units):6.1f}  {'; '.join(misses)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--units", type=int, default=12)
    parser.add_argument("--proposers", nargs="*", default=list(PROPOSER_SPECS))
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument("--hard", action="store_true")
    args = parser.parse_args()
    if not args.skip_default:
        stage_split(args.iterations)
    recovery(args.iterations, args.units, args.proposers, args.hard)


if __name__ == "__main__":
    main()
