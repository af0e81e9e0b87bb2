"""CoSy evaluation of labels from any method: fresh images per label, scored against a control.

For each UNIQUE label (same concept by ``normalise``) across every method, N fresh images are
rendered once, the whole layer is read in one forward per batch, and every (method, unit, label)
is scored with the CoSy AUC, Mann-Whitney U and p, and MAD (``line_core.scoring``) against the
unit's control activations. Methods that share a label share its images and activations.

Image seeds are ``derive_seed("evaluate", seed, seed_key(label), i)``: the loop's are
``derive_seed("image", ...)``, so the hashed texts differ in their first field and the seeds are
independent 31-bit values; a collision with one of a concept's ~10 loop seeds has a chance of
about N * 10 / 2**31 (2e-7 for N = 50), and the control's seeds are a fixed run of small
integers from 1,000,000 that a hash hits with a chance of size / 2**31.
"""

from __future__ import annotations

import io
import json
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from line_core.concepts import derive_seed, normalise, seed_key
from line_core.config import DEFAULT_GENERATOR, ExplainConfig
from line_core.engine import choices
from line_core.engine.components import check_numbers
from line_core.engine.preflight import RECOMMENDED_CONTROL, require_finite
from line_core.engine.provenance import git_revision, package_versions
from line_core.errors import BackendError, ConfigError
from line_core.evaluation.labels import LabelSet, LayerSpec, read_sources, split_source
from line_core.evaluation.output import MANIFEST_NAME, check_folder, write_folder
from line_core.evaluation.report import (
    RESULT_COLUMNS,
    EvaluationResult,
    comparison_rows,
    tests_rows,
)
from line_core.evaluation.stats import method_summaries, paired_tests
from line_core.figures.tables import latex_table
from line_core.generators import ImageGenerator
from line_core.layers import check_unit
from line_core.probe import layer_activations
from line_core.record.store import slug
from line_core.scoring import score_activations
from line_core.targets import Target

#: (lowest, highest) images per label: a score needs a spread; more is a benchmark of its own.
IMAGE_LIMITS = (2, 1000)
SEED_NAMESPACE = "evaluate"


def evaluation_seeds(label: str, seed: int, count: int) -> list[int]:
    """The evaluation's image seeds of a label (disjoint in practice from the loop's)."""
    key = seed_key(label)
    return [derive_seed(SEED_NAMESPACE, seed, key, i) for i in range(count)]


def drawable(generator: ImageGenerator, label: str) -> tuple[bool, list[str]]:
    """Whether the generator draws anything of a label, and the words it does not draw.

    The procedural renderer draws a filler texture for a label with no drawable word
    ("tench"); diffusion models draw every word.
    """
    return bool(generator.draws(label)), list(generator.unrendered_words(label))


@dataclass
class _Rendered:
    """One unique label's rendering: its text, prompt, flags and the labelled units' values."""

    text: str
    prompt: str
    drawable: bool
    unrendered: list[str]
    values: dict[int, np.ndarray]


def _check_numbers(n_images: int, config: ExplainConfig) -> None:
    low, high = IMAGE_LIMITS
    if not isinstance(n_images, int) or isinstance(n_images, bool) or not low <= n_images <= high:
        raise ConfigError(f"--images must be a whole number between {low} and {high}; "
                          f"got {n_images!r}")
    check_numbers(config)


def _layer_spec(model: str, layer: str, target: Target) -> LayerSpec:
    layers = choices.layers(target)
    if layer not in layers:
        check_unit(target, layer, 0)  # raises the house's one line naming close layers
    return LayerSpec({model, target.name}, layer, layers[layer], tuple(layers))


def _unique_labels(label_sets: Sequence[LabelSet]) -> dict[str, tuple[str, set[int]]]:
    """normalise(label) -> (the text rendered: the first in sort order, units it labels)."""
    texts: dict[str, set[str]] = {}
    units: dict[str, set[int]] = {}
    for label_set in label_sets:
        for unit, label in label_set.labels.items():
            key = normalise(label)
            texts.setdefault(key, set()).add(label)
            units.setdefault(key, set()).add(unit)
    return {key: (min(texts[key]), units[key]) for key in sorted(texts)}


def _render_all(
    unique: dict[str, tuple[str, set[int]]], target: Target, layer: str,
    generator: ImageGenerator, n_images: int, seed: int, reduction: str, batch_size: int,
    progress: bool,
) -> dict[str, _Rendered]:
    """Render every unique label once; one forward per batch reads every unit of the layer."""
    keys = list(unique)
    per_chunk = max(1, batch_size // n_images)
    chunks = [keys[i : i + per_chunk] for i in range(0, len(keys), per_chunk)]
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc="evaluating labels", unit="batch", file=sys.stderr)
    rendered: dict[str, _Rendered] = {}
    for chunk in chunks:
        images = []
        for key in chunk:
            seeds = evaluation_seeds(unique[key][0], seed, n_images)
            images.extend(generator.generate(unique[key][0], seeds))
        acts = layer_activations(target, layer, images, reduction=reduction, batch_size=batch_size)
        if not np.all(np.isfinite(acts)):
            raise BackendError(f"{layer} gave non-finite activations (NaN or inf) on the "
                               "evaluation images: the model is broken for this input")
        for index, key in enumerate(chunk):
            text, units = unique[key]
            rows = acts[index * n_images : (index + 1) * n_images]
            ok, unrendered = drawable(generator, text)
            prompt = generator.prompt_for(text, evaluation_seeds(text, seed, 1)[0])
            rendered[key] = _Rendered(text, prompt, ok, unrendered,
                                      {u: rows[:, u].copy() for u in sorted(units)})
    return rendered


def _score_rows(
    label_sets: Sequence[LabelSet], rendered: dict[str, _Rendered], control: np.ndarray,
    layer: str, seed: int,
) -> pd.DataFrame:
    """One row per (method, unit); a (unit, label) shared by methods is scored once."""
    scores: dict[tuple[str, int], Any] = {}
    rows = []
    for label_set in label_sets:
        for unit, label in label_set.labels.items():
            key = normalise(label)
            done = rendered[key]
            if (key, unit) not in scores:
                scores[(key, unit)] = score_activations(done.values[unit], control[:, unit], seed)
            score = scores[(key, unit)]
            rows.append({
                "method": label_set.method, "layer": layer, "unit": unit, "label": label,
                "auc": score.auc, "mad": score.mad, "u_statistic": score.u_statistic,
                "p_value": score.p_value, "n_images": len(done.values[unit]),
                "n_control": control.shape[0], "auc_low": score.auc_low,
                "auc_high": score.auc_high, "mean_activation": score.mean_activation,
                "rendered_as": done.text, "prompt": done.prompt, "drawable": done.drawable,
                "unrendered": ";".join(done.unrendered),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def _identity(model: str, layer: str, sources: Sequence[str], n_images: int,
              config: ExplainConfig) -> dict[str, Any]:
    """What makes two evaluations the same (re-running one may replace its folder)."""
    resolved = []
    for text in sources:
        name, path = split_source(text)
        resolved.append((f"{name}=" if name else "") + str(path.resolve()))
    return {
        "model": model, "layer": layer, "sources": sorted(resolved), "n_images": n_images,
        "control": config.control, "control_size": config.control_size,
        "generator": config.generator, "seed": config.seed, "reduction": config.reduction,
    }  # fmt: skip


def _warnings(label_sets: Sequence[LabelSet], rendered: dict[str, _Rendered], n_control: int,
              generator_name: str) -> list[str]:
    """What the researcher should know: skipped inputs, a small control, undrawable labels."""
    warnings = [f"{s.method}: {note}" for s in label_sets for note in s.notes]
    if n_control < RECOMMENDED_CONTROL:
        warnings.append(f"the control set has only {n_control} images: MAD and AUC rest on few "
                        f"values; use a folder of {RECOMMENDED_CONTROL} or more")
    undrawn = [r.text for r in rendered.values() if not r.drawable]
    if undrawn:
        shown = ", ".join(repr(t) for t in undrawn[:3])
        warnings.append(
            f"{len(undrawn)} label(s) have no word the '{generator_name}' generator can "
            f"draw (e.g. {shown}): scored on what it draws instead, flagged drawable=false"
        )
    return warnings


def _provenance() -> dict[str, Any]:
    """Package versions, Python, platform, git revision and time of an evaluation."""
    return {
        "packages": package_versions(), "python": sys.version.split()[0],
        "platform": platform.platform(), "git_revision": git_revision(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }  # fmt: skip


def _files(result: EvaluationResult) -> dict[str, bytes]:
    """Every file of the evaluation folder, as bytes."""
    parquet = io.BytesIO()
    result.results.to_parquet(parquet, index=False)
    return {
        "results.parquet": parquet.getvalue(),
        "results.csv": result.results.to_csv(index=False).encode(),
        "comparison.csv": result.comparison().to_csv(index=False).encode(),
        "tests.csv": result.tests_frame().to_csv(index=False).encode(),
        "comparison.tex": latex_table(*comparison_rows(result.summaries)).encode(),
        "tests.tex": latex_table(*tests_rows(result.tests)).encode(),
        MANIFEST_NAME: (json.dumps(result.manifest, indent=2, allow_nan=False) + "\n").encode(),
    }


def evaluate(
    model: str,
    layer: str,
    sources: Sequence[str],
    n_images: int = 50,
    control: str = "generator",
    generator: str = DEFAULT_GENERATOR,
    reduction: str = "auto",
    seed: int = 42,
    out_dir: Path | str | None = None,
    *,
    control_size: int = 60,
    force: bool = False,
    progress: bool = False,
    batch_size: int = 64,
    target: Target | None = None,
    image_generator: ImageGenerator | None = None,
) -> EvaluationResult:
    """Score every source's labels of ``model``/``layer`` on fresh images; write ``out_dir``.

    ``sources`` are label CSVs, run folders or folders of runs (``NAME=path`` names one).
    Everything is checked before any rendering: a bad model, layer, source, count or output
    folder is one ConfigError line and nothing is written. ``target`` and ``image_generator``
    may pass loaded backends (the dashboard's cache).
    """
    config = ExplainConfig(model=model, layer=layer, generator=generator, control=control,
                           control_size=control_size, seed=seed, reduction=reduction)
    _check_numbers(n_images, config)
    started = time.perf_counter()
    target = target or choices.target(model)
    spec = _layer_spec(model, layer, target)
    label_sets = read_sources(sources, spec)
    out = Path(out_dir or Path("evaluations") / slug(f"{target.name}-{layer}", 80)).expanduser()
    identity = _identity(model, layer, sources, n_images, config)
    check_folder(out, identity, force)
    image_generator = image_generator or choices.generator(generator)
    control_set = choices.control_set(config, target, layer, image_generator)
    labelled = sorted({u for s in label_sets for u in s.labels})
    for unit in labelled:
        require_finite(control_set.unit(unit), layer, unit)
    unique = _unique_labels(label_sets)
    rendered = _render_all(unique, target, layer, image_generator, n_images, seed, reduction,
                           batch_size, progress)
    results = _score_rows(label_sets, rendered, control_set.activations, layer, seed)
    everyone = set.intersection(*(set(s.labels) for s in label_sets))
    common = results[results["unit"].isin(everyone)]
    warnings = _warnings(label_sets, rendered, control_set.activations.shape[0],
                         image_generator.name)
    manifest = {
        "identity": identity,
        "model": target.name, "model_spec": model, "layer": layer, "units": spec.units,
        "n_images": n_images, "seed": seed, "seed_namespace": SEED_NAMESPACE,
        "reduction": reduction,
        "control": {"spec": control, "description": control_set.description,
                    "size": int(control_set.activations.shape[0]),
                    "skipped": control_set.skipped},
        "generator": {"spec": generator, "name": image_generator.name,
                      "kind": image_generator.kind},
        "sources": [{"source": s.source, "method": s.method, "kind": s.kind,
                     "layer": s.layer, "neurons": len(s.labels), "files": list(s.files),
                     "notes": list(s.notes)} for s in label_sets],
        "labels_rendered": len(rendered), "images_rendered": len(rendered) * n_images,
        **_provenance(), "seconds": round(time.perf_counter() - started, 2),
        "warnings": warnings,
    }  # fmt: skip
    result = EvaluationResult(
        out, results, method_summaries(results, seed=seed),
        method_summaries(common, seed=seed) if len(common) else [],
        paired_tests(results), manifest, warnings,
    )
    write_folder(out, _files(result))
    return result
