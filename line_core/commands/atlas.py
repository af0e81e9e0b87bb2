"""``line atlas build|stats|prune``: a layer's concept atlas from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from line_core.config import DEFAULT_GENERATOR, DEFAULT_MODEL


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``atlas`` and its three actions to the ``line`` parser."""
    parser = sub.add_parser("atlas", help="build, show and prune concept atlases")
    actions = parser.add_subparsers(dest="action", required=True,
                                    parser_class=type(parser))
    build = actions.add_parser("build", help="render a wide vocabulary once for a layer")
    build.add_argument("--model", default=DEFAULT_MODEL)
    build.add_argument("--layer", default=None, help="default: the model's default layer")
    build.add_argument("--generator", default=DEFAULT_GENERATOR)
    build.add_argument("--vocabulary", default=None, metavar="NAME|FILE",
                       help="grammar, imagenet21k, seeds, or a file with one concept per line "
                            "(default: the generator's own: the grammar for procedural)")
    build.add_argument("--images-per-concept", type=int, default=5)
    build.add_argument("--seed", type=int, default=42, help="the runs' seed (default 42)")
    build.add_argument("--reduction", default="auto")
    build.add_argument("--json", action="store_true", help="print one JSON summary")

    stats = actions.add_parser("stats", help="list atlases with their size")
    stats.add_argument("--json", action="store_true")

    prune = actions.add_parser("prune", help="limit atlases' size and tidy them")
    prune.add_argument("--max-size", default=None, help="e.g. 5GB: least recently used go first")
    prune.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                       help="remove atlases unused for this many days")


def run(args: argparse.Namespace) -> int:
    """Carry out ``line atlas ACTION``."""
    return {"build": _build, "stats": _stats, "prune": _prune}[args.action](args)


def _build(args: argparse.Namespace) -> int:
    from line_core.engine import atlas as atlas_door
    from line_core.engine import choices

    target = choices.target(args.model)
    layer = args.layer or target.default_layer
    if layer is None:
        from line_core.errors import ConfigError

        raise ConfigError(f"model '{target.name}' has no default layer: pass --layer")
    interactive = sys.stderr.isatty() and not args.json
    bar = None
    if interactive:
        from tqdm import tqdm

        bar = tqdm(unit="concept", file=sys.stderr, desc="atlas")

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        built = atlas_door.build(target, layer, args.generator, args.vocabulary,
                                 images_per_concept=args.images_per_concept, seed=args.seed,
                                 reduction=args.reduction, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    summary = atlas_door.summary(built.atlas)
    report = built.report
    result = {
        "atlas": summary.folder,
        "model": target.name,
        "layer": layer,
        "vocabulary": built.vocabulary,
        "concepts": summary.concepts,
        "rendered": report.rendered,
        "reused": report.reused,
        "seconds": round(report.seconds, 2),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"atlas of {target.name} / {layer}: {summary.concepts} concepts "
              f"({report.rendered} images rendered now, {report.reused} already stored, "
              f"{report.seconds:.1f} s)")
        print(f"vocabulary: {built.vocabulary}")
        print(f"folder: {summary.folder}")
    return 0


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _stats(args: argparse.Namespace) -> int:
    from line_core.engine import atlas as atlas_door

    found = atlas_door.stats()
    if args.json:
        print(json.dumps({"atlases": [s.to_dict() for s in found]}))
        return 0
    if not found:
        print("no concept atlases yet (`line atlas build --model M --layer L` makes one)")
        return 0
    for s in found:
        built = f", built from {s.builds[-1].get('vocabulary')}" if s.builds else ""
        print(f"{s.title}: {s.concepts} concepts, {s.images} images, {s.units} units, "
              f"{s.shards} shards, {_size(s.bytes)}{built}")
        if s.leftovers or s.corrupt:
            print(f"  {s.leftovers} leftover file(s) of killed writers, {s.corrupt} damaged "
                  "shard(s) set aside: `line atlas prune` tidies them")
        print(f"  {s.folder}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    from line_core.atlas.upkeep import parse_size
    from line_core.engine import atlas as atlas_door

    max_bytes = parse_size(args.max_size) if args.max_size else None
    removed, cleaned = atlas_door.prune(max_bytes=max_bytes, older_than_days=args.older_than)
    for folder in removed:
        print(f"removed {folder}")
    print(f"{len(removed)} atlas(es) removed, {cleaned} leftover file(s) tidied")
    return 0
