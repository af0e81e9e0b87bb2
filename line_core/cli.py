"""The ``line`` command: list models and layers, explain a neuron, show and export runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

from line_core.config import (
    DEFAULT_GENERATOR,
    DEFAULT_MODEL,
    DEFAULT_PROPOSER,
    ExplainConfig,
)
from line_core.errors import LineError

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="line", description="Explain single neurons of vision models (LINE)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("models", help="list the registered models and model families")
    sub.add_parser("generators", help="list the image generators")
    sub.add_parser("proposers", help="list the concept proposers")

    layers = sub.add_parser("layers", help="list a model's layers with their unit counts")
    layers.add_argument("model", help="a model name, family:NAME, or module:callable")

    explain = sub.add_parser("explain", help="explain one neuron (defaults: offline stack)")
    explain.add_argument("--model", default=DEFAULT_MODEL)
    explain.add_argument("--layer", default=None, help="default: the model's default layer")
    explain.add_argument("--neuron", type=int, default=None, help="default: the model's default")
    explain.add_argument("--iterations", type=int, default=10)
    explain.add_argument("--images-per-concept", type=int, default=5)
    explain.add_argument("--generator", default=DEFAULT_GENERATOR)
    explain.add_argument("--proposer", default=DEFAULT_PROPOSER)
    explain.add_argument("--control", default="generator", help="'generator' or an image folder")
    explain.add_argument("--control-size", type=int, default=60)
    explain.add_argument("--reduction", default="auto", help="auto, mean, max, cls")
    explain.add_argument("--runs-dir", default="runs")
    explain.add_argument("--seed", type=int, default=42)
    explain.add_argument("--no-summary", action="store_true", help="skip the summary iteration")
    explain.add_argument("--resume", metavar="RUN_DIR", default=None)
    explain.add_argument("--json", action="store_true", help="print one JSON summary")

    show = sub.add_parser("show", help="print a run's history")
    show.add_argument("run_dir")
    show.add_argument("--json", action="store_true")

    export = sub.add_parser("export", help="export a run's figures and tables")
    export.add_argument("run_dir")
    export.add_argument("--format", default="pdf,svg,png", help="comma list of pdf, svg, png")
    export.add_argument("--preset", default="single", help="single or double (column width)")
    export.add_argument("--out", default=None, help="output folder (default RUN_DIR/export)")
    return parser


def cmd_models(_: argparse.Namespace) -> int:
    """Print the model registry."""
    from line_core.targets import describe_models

    for spec, description in describe_models().items():
        print(f"{spec:24s} {description}")
    return 0


def _print_registry(registry: object) -> int:
    for entry in registry.entries():  # type: ignore[attr-defined]
        name = entry.name + (":NAME" if entry.takes_argument else "")
        print(f"{name:24s} {entry.description}")
    return 0


def cmd_generators(_: argparse.Namespace) -> int:
    """Print the generator registry."""
    from line_core.generators import GENERATORS

    return _print_registry(GENERATORS)


def cmd_proposers(_: argparse.Namespace) -> int:
    """Print the proposer registry."""
    from line_core.proposers import PROPOSERS

    return _print_registry(PROPOSERS)


def cmd_layers(args: argparse.Namespace) -> int:
    """Print every probe-able layer of a model with its unit count."""
    from line_core.targets import list_layers, load_target

    target = load_target(args.model)
    layers = list_layers(target)
    width = max((len(n) for n in layers), default=10)
    for name, units in layers.items():
        mark = "  (default)" if name == target.default_layer else ""
        print(f"{name:{width}s} {units:6d} units{mark}")
    return 0


def _config_from(args: argparse.Namespace) -> ExplainConfig:
    return ExplainConfig(
        model=args.model,
        layer=args.layer,
        neuron=args.neuron,
        generator=args.generator,
        proposer=args.proposer,
        control=args.control,
        control_size=args.control_size,
        iterations=args.iterations,
        images_per_concept=args.images_per_concept,
        seed=args.seed,
        reduction=args.reduction,
        summary=not args.no_summary,
        runs_dir=args.runs_dir,
    )


def cmd_explain(args: argparse.Namespace) -> int:
    """Run (or resume) an explanation and print its label and run folder."""
    from line_core.events import ConceptScored, IterationDone
    from line_core.runs import new_run, resume_run

    interactive = sys.stderr.isatty() and not args.json
    started = time.perf_counter()
    if args.resume:
        explainer = resume_run(args.resume, progress=interactive)
    else:
        explainer = new_run(_config_from(args), progress=interactive)
    total = explainer.final_iteration + 1
    bar = None
    if interactive:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=explainer.start_iteration, unit="it", file=sys.stderr)
    stages: dict[str, float] = {}
    try:
        for event in explainer.run():
            if isinstance(event, ConceptScored) and event.iteration > 0 and bar is not None:
                bar.write(
                    f"  [{event.iteration:2d}] {event.concept!r:32s} AUC {event.auc:.3f} "
                    f"[{event.auc_low:.2f}, {event.auc_high:.2f}]  MAD {event.mad:5.2f}  "
                    f"({event.source})"
                )
            if isinstance(event, IterationDone):
                for stage, seconds in event.stage_seconds.items():
                    stages[stage] = stages.get(stage, 0.0) + seconds
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(f"best {event.best_concept!r} {event.best_auc:.3f}")
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(
            f"interrupted; completed iterations are saved. Resume with: "
            f"line explain --resume {explainer.store.run_dir}",
            file=sys.stderr,
        )
        return 130
    finally:
        if bar is not None:
            bar.close()
    best = explainer.best()
    summary = {
        "label": best.concept if best else "",
        "auc": round(best.auc, 4) if best else None,
        "mad": round(best.mad, 4) if best else None,
        "run_dir": str(explainer.store.run_dir),
        "model": explainer.parts.target.name,
        "layer": explainer.parts.layer,
        "neuron": explainer.parts.neuron,
        "proposer": explainer.config.proposer,
        "seconds_total": round(time.perf_counter() - started, 2),
        "seconds_by_stage": {k: round(v, 2) for k, v in sorted(stages.items())},
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"label: {summary['label']}  (AUC {summary['auc']}, MAD {summary['mad']})")
        print(f"run folder: {summary['run_dir']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print a run's history as a table (or JSON)."""
    from line_core.runs import load_history

    history = load_history(args.run_dir)
    best = history.best()
    if args.json:
        print(
            json.dumps(
                {
                    "status": history.status,
                    "label": best.concept if best else None,
                    "auc": best.auc if best else None,
                    "iterations_completed": history.last_completed_iteration + 1,
                    "history": history.table(),
                }
            )
        )
        return 0
    started = history.started
    if started is not None:
        print(
            f"{started.model} / {started.layer} / unit {started.neuron}  "
            f"generator {started.generator}, proposer {started.proposer}  [{history.status}]"
        )
    print(f"{'it':>3} {'concept':32s} {'source':14s} {'AUC':>6} {'90% CI':>13} {'MAD':>6}")
    for r in history.records:
        ci = f"[{r.auc_low:.2f}, {r.auc_high:.2f}]"
        print(
            f"{r.iteration:3d} {r.concept[:32]:32s} {r.source[:14]:14s} {r.auc:6.3f} "
            f"{ci:>13} {r.mad:6.2f}"
        )
    if best is not None:
        print(f"label: {best.concept}  (AUC {best.auc:.3f}, MAD {best.mad:.2f})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a run's figures and tables for a paper."""
    from line_core.export import export_run

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    written = export_run(args.run_dir, args.out, formats=formats, preset=args.preset)
    for path in written:
        print(path)
    return 0


COMMANDS = {
    "models": cmd_models,
    "generators": cmd_generators,
    "proposers": cmd_proposers,
    "layers": cmd_layers,
    "explain": cmd_explain,
    "show": cmd_show,
    "export": cmd_export,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one clear line and exit status 2 on bad input, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("LINE_DEBUG"):
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (set LINE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
