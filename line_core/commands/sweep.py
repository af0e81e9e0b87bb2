"""``line explain-layer``: explain many neurons of a layer in lockstep over its concept atlas."""

from __future__ import annotations

import argparse
import json
import sys

from line_core.commands.common import add_run_options, config_from, interrupt_on_sigterm


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``explain-layer`` to the ``line`` parser."""
    parser = sub.add_parser(
        "explain-layer", help="explain many neurons of one layer as a sweep (shared rendering)"
    )
    add_run_options(parser)
    parser.add_argument("--neurons", default=None,
                        help="0-63, 3,7,10-12, all, or random:50 (seeded by --seed)")
    parser.add_argument("--parallel", type=int, default=64,
                        help="neurons explained at once (default 64)")
    parser.add_argument("--resume", metavar="SWEEP_DIR", default=None,
                        help="continue a sweep (running the same command again also resumes)")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help="render and forward on Ray actors, propose in Ray tasks: a local "
                             "Ray, or a cluster's address ('auto', 'ray://head:10001'); the "
                             "atlas (LINE_ATLAS_DIR) must be on a file system every node sees")
    parser.add_argument("--ray-workers", type=int, default=None,
                        help="measuring actors (default: one per GPU, else one)")


def run(args: argparse.Namespace) -> int:
    """Plan (or resume) the sweep, run it, print one line per neuron and a summary."""
    from line_core.engine import sweep as sweeps
    from line_core.errors import ConfigError

    if args.resume:
        sweep = sweeps.resume_sweep(args.resume, parallel=args.parallel, ray=args.ray,
                                    ray_workers=args.ray_workers)
    else:
        if not args.neurons:
            raise ConfigError("pass --neurons (0-63, all, random:50) or --resume SWEEP_DIR")
        sweep = sweeps.plan_sweep(config_from(args), args.neurons, parallel=args.parallel,
                                  ray=args.ray, ray_workers=args.ray_workers)
    record = sweep.record
    total = len(record.neurons)
    if not args.json:
        verb = "resuming" if sweep.resumed else "starting"
        print(f"{verb} sweep of {total} neurons of {record.config.model} / "
              f"{record.config.layer}: {record.folder}", file=sys.stderr)
    interrupt_on_sigterm()
    done = [0]

    def on_outcome(outcome: sweeps.NeuronOutcome) -> None:
        done[0] += 1
        if args.json:
            return
        what = (f"{outcome.label!r} AUC {outcome.auc:.3f}" if outcome.status != "failed"
                else outcome.error)
        print(f"[{done[0]:4d}/{total}] unit {outcome.neuron:5d} {outcome.status:8s} {what}",
              file=sys.stderr)

    try:
        report = sweep.run(on_outcome)
    except KeyboardInterrupt:
        print(f"interrupted; finished neurons are kept. Resume with: line explain-layer "
              f"--resume {record.folder}", file=sys.stderr)
        return 130
    summary = {
        "sweep": str(report.folder),
        "model": record.config.model,
        "layer": record.config.layer,
        "neurons": total,
        "finished": sum(o.status in ("finished", "skipped") for o in report.outcomes),
        "failed": len(report.failed),
        "rounds": report.rounds,
        "rendered": report.rendered,
        "units": [{"neuron": o.neuron, "status": o.status, "label": o.label,
                   "auc": round(o.auc, 4), "run_dir": o.run_dir, "error": o.error}
                  for o in report.outcomes],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"sweep: {summary['finished']}/{total} neurons explained, {summary['failed']} "
              f"failed; {report.rendered} images rendered in {report.rounds} rounds")
        print(f"sweep folder: {report.folder}")
    return 1 if report.failed else 0
