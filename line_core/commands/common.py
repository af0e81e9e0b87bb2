"""What ``line explain`` and ``line explain-layer`` share: options, their config, SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading

from line_core.config import (
    DEFAULT_GENERATOR,
    DEFAULT_MODEL,
    DEFAULT_PROBE_SHARE,
    DEFAULT_PROPOSER,
    ExplainConfig,
)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The settings of a run (model and layer, backends, counts, seed, output folder)."""
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--layer", default=None, help="default: the model's default layer")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--images-per-concept", type=int, default=5)
    parser.add_argument("--generator", default=DEFAULT_GENERATOR)
    parser.add_argument("--proposer", default=DEFAULT_PROPOSER)
    parser.add_argument("--control", default="generator", help="'generator' or an image folder")
    parser.add_argument("--control-size", type=int, default=60)
    parser.add_argument("--reduction", default="auto", help="auto, mean, max, cls")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-summary", action="store_true", help="skip the summary iteration")
    parser.add_argument("--probe-share", type=float, default=DEFAULT_PROBE_SHARE,
                        help="share of the iterations spent on driver-separating probes "
                        f"(default {DEFAULT_PROBE_SHARE}; 0 turns them off)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary")


def config_from(args: argparse.Namespace) -> ExplainConfig:
    """The run config the options name (``neuron``, ``review``, ``no_atlas`` if present)."""
    return ExplainConfig(
        model=args.model,
        layer=args.layer,
        neuron=getattr(args, "neuron", None),
        generator=args.generator,
        proposer=args.proposer,
        control=args.control,
        control_size=args.control_size,
        iterations=args.iterations,
        images_per_concept=args.images_per_concept,
        seed=args.seed,
        reduction=args.reduction,
        summary=not args.no_summary,
        probe_share=args.probe_share,
        atlas=not getattr(args, "no_atlas", False),
        review=getattr(args, "review", False),
        runs_dir=args.runs_dir,
    )


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C: a run stops between writes and resumes later."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
