"""Offline study: LINE (lexicon, each shipped LLM) vs a single-pass vocabulary sweep, fresh images.

Usage: python benchmarks/offline_study.py [--out DIR] [--neurons 20] [--seed 0]
       [--layer _conv_head] [--iterations 10] [--images 50] [--methods ...]

On EfficientNet-Lite0 (the offline default model), ``--neurons`` units of one layer are drawn
with a fixed seed. Methods:

- ``LINE-lexicon``, ``LINE-smollm2``, ``LINE-gemma3-270m``: a layer sweep (``line
  explain-layer``) with that proposer and the default settings (the LLMs with their lexicon
  fallback, as a user gets them), over the layer's concept atlas;
- ``vocabulary``: the fixed-vocabulary approach of CLIP-Dissect-like methods without CLIP: every
  concept of the procedural grammar vocabulary (the atlas build, 5 images each) is scored once
  for the unit against the control, and the best is the label.

Every label is then scored by ``line evaluate`` on fresh images (seeds disjoint from the loop's)
against the generator-matched control and against a folder of natural photo crops (a tiny
stand-in for a validation split: offline, no natural-image dataset exists), with per-method
means, bootstrap intervals and Holm-corrected paired tests. Note: LINE's initial pool holds the
vocabulary's top 20 concepts, so LINE starts where the vocabulary sweep ends; fresh images test
whether its refinements hold up or only fit the loop's own images.

Everything is kept under ``--out`` (runs, the atlas, the evaluation), so a rerun reuses what
exists: finished sweeps are skipped, the atlas is not rebuilt.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _setup_atlas(out: Path) -> None:
    """Keep the study's atlas with the study (set before line_core reads it)."""
    os.environ.setdefault("LINE_ATLAS_DIR", str(out / "atlas"))


LLM_PROPOSERS = {"LINE-lexicon": "lexicon", "LINE-smollm2": "smollm2",
                 "LINE-gemma3-270m": "gemma3-270m"}
METHODS = (*LLM_PROPOSERS, "vocabulary")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="study-offline")
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--layer", default="_conv_head")
    parser.add_argument("--neurons", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="draws the neurons")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--images", type=int, default=50, help="fresh images per label")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _setup_atlas(out)
    run_study(args, out)


def run_study(args: argparse.Namespace, out: Path) -> None:
    """Build the atlas, run every method, evaluate every label under both control regimes."""
    from line_core.atlas.ranking import rank_concepts
    from line_core.config import ExplainConfig
    from line_core.control import write_photo_crops
    from line_core.engine import atlas as atlas_door
    from line_core.engine import choices
    from line_core.engine.evaluate import evaluate
    from line_core.engine.sweep import parse_neurons, plan_sweep
    from line_core.generators import GENERATORS

    target = choices.target(args.model)
    generator = GENERATORS.create("procedural")
    units = choices.layers(target)[args.layer]
    neurons = parse_neurons(f"random:{args.neurons}", units, seed=args.seed)
    spec = ",".join(str(n) for n in neurons)
    print(f"# Offline study: {target.name} / {args.layer}, {len(neurons)} units drawn with seed "
          f"{args.seed}: {spec}", flush=True)

    started = time.perf_counter()
    built = atlas_door.build(target, args.layer, generator)
    print(f"atlas: {built.report.rendered} images rendered now "
          f"({time.perf_counter() - started:.0f} s)", flush=True)

    sources = []
    for method in args.methods:
        if method == "vocabulary":
            continue
        runs = out / "runs" / method
        config = ExplainConfig(model=args.model, layer=args.layer, proposer=LLM_PROPOSERS[method],
                               iterations=args.iterations, runs_dir=str(runs))
        started = time.perf_counter()
        report = plan_sweep(config, spec, target=target, generator=generator).run()
        failed = [f"{o.neuron}: {o.error}" for o in report.failed]
        print(f"{method}: {len(report.outcomes) - len(failed)} runs, {report.rendered} images "
              f"rendered, {time.perf_counter() - started:.0f} s"
              f"{'; FAILED ' + '; '.join(failed) if failed else ''}", flush=True)
        sources.append(f"{method}={runs}")

    if "vocabulary" in args.methods:
        config = ExplainConfig(model=args.model, layer=args.layer)
        control = choices.control_set(config, target, args.layer, generator)
        lines = ["layer,unit,description,similarity"]
        for unit in neurons:
            best = rank_concepts(built.atlas, unit, control.unit(unit))[0]
            lines.append(f"{args.layer},{unit},{best.concept},{best.auc:.6f}")
        labels = out / "vocabulary.csv"
        labels.write_text("\n".join(lines) + "\n")
        sources.append(f"vocabulary={labels}")

    photos = out / "natural-control"
    write_photo_crops(photos)
    started = time.perf_counter()
    result = evaluate(args.model, args.layer, sources, n_images=args.images,
                      natural_control=str(photos), out_dir=out / "evaluation", force=True,
                      target=target, image_generator=generator)
    print(f"evaluation: {time.perf_counter() - started:.0f} s, written to {result.out_dir}\n")
    print(result.text())


if __name__ == "__main__":
    sys.exit(main())
