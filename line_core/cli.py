"""The ``line`` command: list models and layers, explain a neuron, show and export runs."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from line_core.commands import atlas as atlas_command
from line_core.commands import poly as poly_command
from line_core.commands import prepare as prepare_command
from line_core.commands import sweep as sweep_command
from line_core.commands.common import add_run_options, config_from, interrupt_on_sigterm
from line_core.config import (
    DEFAULT_GENERATOR,
)
from line_core.errors import LineError

EXIT_BAD_INPUT = 2


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (not a usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the problem and where to read more, then exit 2."""
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = OneLineParser(
        prog="line", description="Explain single neurons of vision models (LINE)."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    sub.add_parser("models", help="list the registered models and model families")
    sub.add_parser("generators", help="list the image generators")
    sub.add_parser("proposers", help="list the concept proposers")

    layers = sub.add_parser("layers", help="list a model's layers with their unit counts")
    layers.add_argument("model", help="a model name, family:NAME, or module:callable")

    explain = sub.add_parser("explain", help="explain one neuron (defaults: offline stack)")
    add_run_options(explain)
    explain.add_argument("--neuron", type=int, default=None, help="default: the model's default")
    explain.add_argument("--no-atlas", action="store_true",
                         help="do not measure through (or start from) the layer's concept atlas")
    explain.add_argument("--resume", metavar="RUN_DIR", default=None)
    explain.add_argument("--review", action="store_true",
                         help="wait for a researcher to accept each proposal (dashboard)")

    sweep_command.add_parser(sub)

    show = sub.add_parser("show", help="print a run's history")
    show.add_argument("run_dir")
    show.add_argument("--json", action="store_true")

    export = sub.add_parser("export", help="export a run's figures and tables")
    export.add_argument("run_dir")
    export.add_argument("--format", default="pdf,svg,png", help="comma list of pdf, svg, png")
    export.add_argument("--preset", default="single", help="single or double (column width)")
    export.add_argument("--out", default=None, help="output folder (default RUN_DIR/export)")

    repair = sub.add_parser("repair", help="move a run's corrupt event lines aside")
    repair.add_argument("run_dir")

    evaluate = sub.add_parser("evaluate", help="score labels of many units on fresh images (CoSy)")
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--layer", required=True)
    evaluate.add_argument("--labels", action="append", required=True, metavar="SOURCE",
                          help="a label CSV, a run folder or a folder of runs; NAME=SOURCE names "
                               "it (repeat for several methods)")
    evaluate.add_argument("--images", type=int, default=50, help="fresh images per label")
    evaluate.add_argument("--control", default="generator", help="'generator' or an image folder")
    evaluate.add_argument("--natural-control", default=None, metavar="FOLDER",
                          help="also score against this folder of natural images (the CoSy "
                               "regime) and flag labels that collapse under the generator's")
    evaluate.add_argument("--generator", default=DEFAULT_GENERATOR)
    evaluate.add_argument("--out", default=None, help="default: evaluations/MODEL-LAYER")
    evaluate.add_argument("--force", action="store_true", help="replace another evaluation there")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    atlas_command.add_parser(sub)
    poly_command.add_parser(sub)
    prepare_command.add_parser(sub)

    dashboard = sub.add_parser("dashboard", help="start the dashboard (127.0.0.1 by default)")
    dashboard.add_argument("--runs-dir", default="runs")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="0.0.0.0 to listen on every interface (anyone may start runs)")
    dashboard.add_argument("--port", type=int, default=8501)
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
    from line_core.layers import list_layers
    from line_core.targets import load_target

    target = load_target(args.model)
    layers = list_layers(target)
    width = max((len(n) for n in layers), default=10)
    for name, units in layers.items():
        mark = "  (default)" if name == target.default_layer else ""
        print(f"{name:{width}s} {units:6d} units{mark}")
    return 0


def _print_progress(event: object, bar: Any) -> None:
    from line_core.record.events import ConceptScored

    if isinstance(event, ConceptScored) and event.iteration > 0:
        bar.write(
            f"  [{event.iteration:2d}] {event.concept!r:32s} AUC {event.auc:.3f} "
            f"[{event.auc_low:.2f}, {event.auc_high:.2f}]  MAD {event.mad:5.2f}  "
            f"({event.source})"
        )


def cmd_explain(args: argparse.Namespace) -> int:
    """Run (or resume) an explanation and print its label and run folder."""
    from line_core import engine
    from line_core.record.events import IterationDone

    interactive = sys.stderr.isatty() and not args.json
    started = time.perf_counter()
    if args.resume:
        explainer = engine.resume(args.resume, progress=interactive)
        warnings: list[str] = []
    else:
        new = engine.start(config_from(args), progress=interactive)
        explainer, warnings = new.explainer, new.warnings
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for line in explainer.repaired:
        print(f"note: moved corrupt line {line.number} of events.jsonl to events.jsonl.corrupt "
              f"({line.reason})", file=sys.stderr)
    interrupt_on_sigterm()
    bar = None
    if interactive:
        from tqdm import tqdm

        bar = tqdm(total=explainer.final_iteration + 1, initial=explainer.start_iteration,
                   unit="it", file=sys.stderr)
    stages: dict[str, float] = {}
    try:
        for event in explainer.run():
            if bar is not None:
                _print_progress(event, bar)
            if isinstance(event, IterationDone):
                for stage, seconds in event.stage_seconds.items():
                    stages[stage] = stages.get(stage, 0.0) + seconds
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(f"best {event.best_concept!r} {event.best_auc:.3f}")
    except KeyboardInterrupt:
        print(
            f"interrupted; completed iterations are saved. Resume with: "
            f"line explain --resume {explainer.store.run_dir}",
            file=sys.stderr,
        )
        return 130
    finally:
        if bar is not None:
            bar.close()
    history = engine.history(explainer.store.run_dir)
    best = history.best()
    summary = {
        "label": best.concept if best else "",
        "auc": _number(best.auc) if best else None,
        "mad": _number(best.mad) if best else None,
        "status": history.status,
        "run_dir": str(explainer.store.run_dir),
        "model": explainer.parts.target.name,
        "layer": explainer.parts.layer,
        "neuron": explainer.parts.neuron,
        "proposer": explainer.config.proposer,
        "iterations_completed": history.iterations_done,
        "seconds_total": round(time.perf_counter() - started, 2),
        "seconds_by_stage": {k: round(v, 2) for k, v in sorted(stages.items())},
        "warnings": warnings,
    }
    if args.json:
        print(json.dumps(summary, allow_nan=False))
    else:
        print(f"label: {summary['label']}  (AUC {summary['auc']}, MAD {summary['mad']})")
        print(f"run folder: {summary['run_dir']}")
    return 0


def _number(value: float, digits: int = 4) -> float | None:
    """A finite rounded number for JSON, or None (JSON has no NaN)."""
    return round(float(value), digits) if math.isfinite(float(value)) else None


def cmd_show(args: argparse.Namespace) -> int:
    """Print a run's history as a table (or JSON)."""
    from line_core import engine

    history = engine.history(args.run_dir)
    status = engine.status(args.run_dir, history)
    best = history.best()
    if args.json:
        print(
            json.dumps(
                {
                    "status": status.word,
                    "writer": status.writer.describe() if status.writer else None,
                    "label": best.concept if best else None,
                    "auc": _number(best.auc) if best else None,
                    "iterations_completed": history.iterations_done,
                    "iterations_total": history.iterations_total,
                    "corrupt_lines": history.corrupt_lines,
                    "history": history.table(),
                },
                allow_nan=False,
            )
        )
        return 0
    started = history.started
    if started is not None:
        print(
            f"{started.model} / {started.layer} / unit {started.neuron}  "
            f"generator {started.generator}, proposer {started.proposer}  [{status.word}, "
            f"{history.iterations_done}/{history.iterations_total} iterations]"
        )
    if history.failed is not None:
        print(f"failed: {history.failed.message}")
    if history.corrupt_lines:
        print(f"note: {history.corrupt_lines} corrupt event line(s) skipped; "
              f"`line repair {args.run_dir}` moves them aside")
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


def cmd_repair(args: argparse.Namespace) -> int:
    """Move a run's corrupt event lines to events.jsonl.corrupt and say what moved."""
    from line_core import engine

    moved = engine.repair(args.run_dir)
    for line in moved:
        print(f"moved line {line.number} ({line.reason}) to events.jsonl.corrupt")
    print(f"{args.run_dir}: {len(moved)} corrupt line(s) moved aside; the run is readable")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate labels of many units and print the method comparison (or one JSON object)."""
    from line_core.engine.evaluate import evaluate

    result = evaluate(args.model, args.layer, args.labels, n_images=args.images,
                      control=args.control, natural_control=args.natural_control,
                      generator=args.generator, out_dir=args.out, force=args.force,
                      progress=sys.stderr.isatty() and not args.json)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(json.dumps(result.to_json(), allow_nan=False) if args.json else result.text())
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Start the dashboard in the foreground."""
    from line_core.serve import serve

    return serve(args.runs_dir, host=args.host, port=args.port)


COMMANDS = {
    "models": cmd_models,
    "generators": cmd_generators,
    "proposers": cmd_proposers,
    "layers": cmd_layers,
    "explain": cmd_explain,
    "show": cmd_show,
    "export": cmd_export,
    "repair": cmd_repair,
    "evaluate": cmd_evaluate,
    "dashboard": cmd_dashboard,
    "atlas": atlas_command.run,
    "poly": poly_command.run,
    "prepare": prepare_command.run,
    "explain-layer": sweep_command.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one clear line and exit status 2 on bad input, never a traceback."""
    from line_core.allocator import tune_allocator

    tune_allocator()  # before any large buffer: keep them in the heap (see line_core.allocator)
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a read-only or vanished folder
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot read or write{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
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
