"""Layer sweep benchmark: renders and forwards per neuron, warm-atlas speed-up, loop overhead,
label quality, and planted recovery from a broad first look.

Usage: python benchmarks/layer_sweep.py [--neurons 64] [--independent 4] [--iterations 10]
       [--skip-build] [--skip-planted] [--layer _conv_head]

Everything runs in one process, on a fresh atlas folder (``LINE_ATLAS_DIR`` is set to a
temporary folder), with the offline stack (EfficientNet-Lite0, procedural renderer, lexicon):

1. ``--independent`` units explained one by one without an atlas (``--no-atlas``, as before the
   atlas existed): images rendered (= images forwarded) per neuron.
2. A sweep of ``--neurons`` units drawn with seed 0 (the independent ones included), on a cold
   atlas: images per neuron, rounds, wall time, and the loop's own overhead (wall time outside
   proposing and the rounds' rendering + forward).
3. The same sweep again on the now warm atlas: the wall-time ratio.
4. The whole layer: a grammar atlas build (every colour, pattern and shape of the renderer and
   their combinations) plus the sweep's new renders per neuron measured on a built atlas,
   divided per unit of the layer.
5. Label quality: each independent neuron's sweep AUC against its independent run's 90%
   interval.
6. Planted recovery (the ``planted`` model, every unit, seed concepts that match removed as
   ``offline_loop.py --hard`` does; the sweep starts from the grammar atlas and never sees the
   seed vocabulary) and, when ``planted-family`` exists, on held-out planted families.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ["LINE_ATLAS_DIR"] = tempfile.mkdtemp(prefix="line-bench-atlas-")

from line_core import engine  # noqa: E402
from line_core.config import ExplainConfig  # noqa: E402
from line_core.engine import atlas as atlas_door  # noqa: E402
from line_core.engine.sweep import parse_neurons, plan_sweep  # noqa: E402
from line_core.generators import GENERATORS  # noqa: E402
from line_core.record import RunStore, load_history  # noqa: E402
from line_core.record.events import IterationDone  # noqa: E402
from line_core.targets import load_target  # noqa: E402


def rendered_images(run_dir: Path) -> int:
    events = RunStore.open(run_dir).events()
    return sum(len(e.seeds) - e.cached for e in events if e.type == "images_generated")


def stage_seconds(run_dir: Path) -> dict[str, float]:
    total: dict[str, float] = {}
    for event in RunStore.open(run_dir).events():
        if isinstance(event, IterationDone):
            for stage, seconds in event.stage_seconds.items():
                total[stage] = total.get(stage, 0.0) + seconds
    return total


def independent_runs(target, layer: str, neurons: list[int], iterations: int, runs: Path):
    out = {}
    for neuron in neurons:
        config = ExplainConfig(layer=layer, neuron=neuron, iterations=iterations, atlas=False,
                               runs_dir=str(runs))
        started = time.perf_counter()
        explainer = engine.start(config, target=target).explainer
        list(explainer.run())
        wall = time.perf_counter() - started
        run_dir = explainer.store.run_dir
        out[neuron] = (load_history(run_dir), rendered_images(run_dir), wall,
                       stage_seconds(run_dir))
    return out


def sweep(target, generator, layer: str, spec: str, iterations: int, runs: Path):
    config = ExplainConfig(model=target.name, layer=layer, iterations=iterations,
                           runs_dir=str(runs))
    started = time.perf_counter()
    report = plan_sweep(config, spec, target=target, generator=generator).run()
    wall = time.perf_counter() - started
    return report, wall


def part_costs(args, target, generator, runs: Path) -> None:
    layer = args.layer
    units = engine.choices.layers(target)[layer]
    chosen = parse_neurons(f"random:{args.neurons}", units, seed=0)
    alone_units = chosen[: args.independent]
    print(f"\n## {target.name} / {layer} ({units} units), {args.iterations} iterations, "
          f"{args.neurons}-neuron sweep (seed 0), {len(alone_units)} independent runs")
    alone = independent_runs(target, layer, alone_units, args.iterations, runs / "alone")
    per_alone = sum(v[1] for v in alone.values()) / len(alone)
    wall_alone = sum(v[2] for v in alone.values()) / len(alone)
    spec = ",".join(str(u) for u in chosen)
    cold, cold_wall = sweep(target, generator, layer, spec, args.iterations,
                                          runs / "cold")
    warm, warm_wall = sweep(target, generator, layer, spec, args.iterations,
                                          runs / "warm")
    per_sweep = cold.rendered / len(chosen)
    print(f"{'':34s} {'images/neuron':>13s} {'wall s/neuron':>13s}")
    print(f"{'independent runs (no atlas)':34s} {per_alone:13.1f} {wall_alone:13.2f}")
    print(f"{'sweep, cold atlas':34s} {per_sweep:13.1f} {cold_wall / len(chosen):13.2f}")
    print(f"{'sweep, warm atlas':34s} {warm.rendered / len(chosen):13.1f} "
          f"{warm_wall / len(chosen):13.2f}")
    print(f"renders per neuron, independent / sweep: {per_alone / max(per_sweep, 1e-9):.1f}x "
          f"(target >= 5x); rounds {cold.rounds}, largest round {cold.largest_round} images")
    print(f"wall, cold sweep / warm sweep: {cold_wall / warm_wall:.1f}x (target >= 20x)")
    for name, report, wall in (("cold", cold, cold_wall), ("warm", warm, warm_wall)):
        overhead = max(0.0, wall - report.fill_seconds - report.propose_seconds)
        print(f"loop overhead, {name} sweep: {overhead:.1f} s of {wall:.1f} s wall "
              f"({overhead / wall:.1%}); rendering + forward {report.fill_seconds:.1f} s, "
              f"proposing {report.propose_seconds:.1f} s CPU")
    for neuron, (_history, _, wall, stages) in list(alone.items())[:1]:
        core = sum(stages.get(k, 0.0) for k in ("propose", "generate", "forward"))
        print(f"loop overhead, independent run of unit {neuron}: "
              f"{max(0.0, wall - core) / wall:.1%} of {wall:.1f} s (incl. set-up)")
    print("\nlabel quality (sweep AUC vs the independent run's 90% interval):")
    by_unit = {o.neuron: o for o in cold.outcomes}
    within = 0
    for neuron, (history, *_rest) in alone.items():
        best = history.best()
        swept = by_unit[neuron]
        ok = swept.auc >= best.auc_low - 1e-9
        within += ok
        print(f"  unit {neuron:5d}: alone {best.concept!r} {best.auc:.3f} "
              f"[{best.auc_low:.3f}, {best.auc_high:.3f}]  sweep {swept.label!r} "
              f"{swept.auc:.3f}  {'ok' if ok else 'BELOW'}")
    print(f"  {within}/{len(alone)} within the interval or better")
    if args.skip_build:
        return
    built = atlas_door.build(target, layer, generator)
    per_unit_build = built.report.rendered / units
    after, after_wall = sweep(target, generator, layer, spec, args.iterations,
                                 runs / "built")
    new_per_neuron = after.rendered / len(chosen)
    print(f"\nwhole layer: grammar atlas build {built.report.rendered} images "
          f"({built.report.seconds:.0f} s) = {per_unit_build:.1f} per unit; a sweep on the built "
          f"atlas renders {new_per_neuron:.1f} new images per neuron ({after_wall:.0f} s for "
          f"{len(chosen)} neurons): {per_unit_build + new_per_neuron:.1f} images per unit over "
          f"the layer, at most (later neurons share earlier renders); target <= 10")


def part_planted(args, generator, runs: Path) -> None:
    from line_core.targets.planted_units import planted_units

    if not args.families_only:
        target = load_target("planted")
        built = atlas_door.build(target, "units", generator)
        units = planted_units()
        spec = ",".join(str(u.index) for u in units)
        report, wall = sweep(target, generator, "units", spec, args.iterations,
                             runs / "planted")
        print(f"\n## planted model, {len(units)} units, sweep from the grammar atlas "
              f"({built.report.concepts} concepts), {args.iterations} iterations, {wall:.0f} s")
        hits = 0
        for unit, outcome in zip(units, report.outcomes, strict=True):
            ok = unit.matches(outcome.label) and outcome.auc >= 0.8
            hits += ok
            print(f"  unit {unit.index:2d} {unit.concept!r:28s} -> {outcome.label!r:30s} "
                  f"AUC {outcome.auc:.3f} {'ok' if ok else 'MISS'} {outcome.error}")
        print(f"  recovered {hits}/{len(units)} (planted attribute in the label, AUC >= 0.8)")
    try:
        from line_core.targets.planted_family import HELD_OUT_SEEDS
    except ImportError:
        return
    total = found = 0
    for seed in HELD_OUT_SEEDS[: args.families]:
        family = load_target(f"planted-family:{seed}")
        atlas_door.build(family, "units", generator)
        truths = family.extra["planted_units"]
        spec = ",".join(str(i) for i in range(len(truths)))
        fam, wall = sweep(family, generator, "units", spec, args.iterations,
                             runs / f"family-{seed}")
        misses = []
        for truth, outcome in zip(truths, fam.outcomes, strict=True):
            ok = truth.matches(outcome.label) and outcome.auc >= 0.8
            found += ok
            total += 1
            if not ok:
                why = f" [{outcome.status}: {outcome.error}]" if outcome.error else ""
                misses.append(f"{truth.concept}->{outcome.label} ({outcome.auc:.2f}){why}")
        print(f"  held-out family {seed}: {len(truths) - len(misses)}/{len(truths)} "
              f"({wall:.0f} s){'; misses: ' + '; '.join(misses) if misses else ''}")
    if total:
        print(f"  held-out families: recovered {found}/{total}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layer", default="_conv_head")
    parser.add_argument("--neurons", type=int, default=64)
    parser.add_argument("--independent", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--families", type=int, default=3)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-costs", action="store_true")
    parser.add_argument("--skip-planted", action="store_true")
    parser.add_argument("--families-only", action="store_true",
                        help="of the planted part, only the held-out planted families")
    args = parser.parse_args()
    generator = GENERATORS.create("procedural")
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        if not args.skip_costs:
            part_costs(args, load_target("efficientnet_lite0"), generator, runs)
        if not args.skip_planted:
            part_planted(args, generator, runs)


if __name__ == "__main__":
    main()
