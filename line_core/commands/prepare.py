"""``line prepare``: fill the caches the first run of the default settings waits on."""

from __future__ import annotations

import argparse
import json
import sys

from line_core.config import DEFAULT_GENERATOR, DEFAULT_MODEL, DEFAULT_PROPOSER


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``prepare`` to the ``line`` parser."""
    parser = sub.add_parser(
        "prepare",
        help="prepare models, embeddings, control activations and the initial pool of the "
             "default unit, so the first run shows its first iteration in seconds",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--generator", default=DEFAULT_GENERATOR)
    parser.add_argument("--proposer", default=DEFAULT_PROPOSER)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Carry out ``line prepare`` (one line per step on stderr, or JSON on stdout)."""
    from line_core import engine
    from line_core.config import ExplainConfig
    from line_core.paths import cache_dir

    config = ExplainConfig(model=args.model, generator=args.generator, proposer=args.proposer)

    def say(step: engine.PreparedStep) -> None:
        if not args.json:
            detail = f" ({step.detail})" if step.detail else ""
            print(f"prepared {step.name}{detail}: {step.seconds:.1f} s", file=sys.stderr)

    steps = engine.prepare_first_run(config, report=say)
    total = sum(s.seconds for s in steps)
    if args.json:
        print(json.dumps({
            "cache_dir": str(cache_dir()),
            "seconds": round(total, 2),
            "steps": [{"name": s.name, "seconds": round(s.seconds, 2), "detail": s.detail}
                      for s in steps],
        }))
    else:
        print(f"ready in {total:.1f} s; caches in {cache_dir()}", file=sys.stderr)
    return 0
