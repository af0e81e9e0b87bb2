"""CoSy evaluation of labels from any method: fresh images per label, scored against a control.

For each UNIQUE label (same concept by ``normalise``) across every method, N fresh images are
rendered once, the whole layer is read in one forward per batch, and every (method, unit, label)
is scored with the CoSy AUC, Mann-Whitney U and p, and MAD (``line_core.scoring``) against the
unit's control activations. Methods that share a label share its images and activations.

Two control regimes can be scored from the same rendered images in one evaluation: the
generator-matched control (default) and, with ``natural_control``, a folder of natural images
(the CoSy regime). Each regime has its own method summaries and paired tests, and labels that
are strong against natural images but near chance against the generator's control are flagged
``collapsed`` (the rule: ``line_core.evaluation.regimes``).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from line_core.concepts import derive_seed, normalise, seed_key
from line_core.config import DEFAULT_GENERATOR, ExplainConfig
from line_core.control import ControlSet
from line_core.engine import choices
from line_core.engine.components import check_numbers
from line_core.engine.preflight import RECOMMENDED_CONTROL, require_finite
from line_core.engine.provenance import git_revision, package_versions
from line_core.errors import BackendError, ConfigError
from line_core.evaluation.labels import LabelSet, LayerSpec, read_sources, split_source
from line_core.evaluation.output import MANIFEST_NAME, check_folder, write_folder
from line_core.evaluation.regimes import (
    COLLAPSE_GENERATOR_MAX_AUC,
    COLLAPSE_NATURAL_MIN_AUC,
    COLLAPSE_RULE,
    GENERATOR,
    NATURAL,
    collapsed_table,
    flag_collapsed,
    regime_of,
)
from line_core.evaluation.report import (
    RESULT_COLUMNS,
    EvaluationResult,
    RegimeReport,
    comparison_rows,
    tests_rows,
)
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
#: How warnings name each regime's control when there are two.
CONTROL_NAMES = {GENERATOR: "generator-matched control", NATURAL: "natural-image control"}
#: Called with (labels rendered so far, labels to render) after each batch.
Progress = Callable[[int, int], None]


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
        raise ConfigError(
            f"--images must be a whole number between {low} and {high}; got {n_images!r}"
        )
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
    unique: dict[str, tuple[str, set[int]]],
    target: Target,
    layer: str,
    generator: ImageGenerator,
    n_images: int,
    seed: int,
    reduction: str,
    batch_size: int,
    progress: bool,
    on_progress: Progress | None = None,
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
            raise BackendError(
                f"{layer} gave non-finite activations (NaN or inf) on the "
                "evaluation images: the model is broken for this input"
            )
        for index, key in enumerate(chunk):
            text, units = unique[key]
            rows = acts[index * n_images : (index + 1) * n_images]
            ok, unrendered = drawable(generator, text)
            prompt = generator.prompt_for(text, evaluation_seeds(text, seed, 1)[0])
            rendered[key] = _Rendered(
                text, prompt, ok, unrendered, {u: rows[:, u].copy() for u in sorted(units)}
            )
        if on_progress is not None:
            on_progress(len(rendered), len(keys))
    return rendered


def _score_rows(
    label_sets: Sequence[LabelSet],
    rendered: dict[str, _Rendered],
    control: np.ndarray,
    layer: str,
    seed: int,
    regime: str = GENERATOR,
) -> pd.DataFrame:
    """One row per (method, unit) against one regime's control; shared (unit, label) scored once."""
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
                "method": label_set.method, "control": regime, "layer": layer, "unit": unit,
                "label": label,
                "auc": score.auc, "mad": score.mad, "u_statistic": score.u_statistic,
                "p_value": score.p_value, "n_images": len(done.values[unit]),
                "n_control": control.shape[0], "auc_low": score.auc_low,
                "auc_high": score.auc_high, "mean_activation": score.mean_activation,
                "collapsed": False, "rendered_as": done.text, "prompt": done.prompt,
                "drawable": done.drawable,
                "unrendered": ";".join(done.unrendered),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def _identity(
    model: str,
    layer: str,
    sources: Sequence[str],
    n_images: int,
    config: ExplainConfig,
    natural_control: str | None,
) -> dict[str, Any]:
    """What makes two evaluations the same (re-running one may replace its folder)."""
    resolved = []
    for text in sources:
        name, path = split_source(text)
        resolved.append((f"{name}=" if name else "") + str(path.resolve()))
    identity = {
        "model": model, "layer": layer, "sources": sorted(resolved), "n_images": n_images,
        "control": config.control, "control_size": config.control_size,
        "generator": config.generator, "seed": config.seed, "reduction": config.reduction,
    }  # fmt: skip
    if natural_control is not None:  # absent otherwise: older folders keep their identity
        identity["natural_control"] = str(Path(natural_control).expanduser().resolve())
    return identity


def _warnings(
    label_sets: Sequence[LabelSet],
    rendered: dict[str, _Rendered],
    controls: dict[str, ControlSet],
    results: pd.DataFrame,
    generator_name: str,
) -> list[str]:
    """What the researcher should know: skipped inputs, small controls, odd labels.

    Odd labels: those the generator cannot draw and those that collapse under its control.
    """
    warnings = [f"{s.method}: {note}" for s in label_sets for note in s.notes]
    for regime, control_set in controls.items():
        size = control_set.activations.shape[0]
        if size < RECOMMENDED_CONTROL:
            what = "the control set" if len(controls) == 1 else f"the {CONTROL_NAMES[regime]}"
            warnings.append(
                f"{what} has only {size} images: MAD and AUC rest on few values; "
                f"use a folder of {RECOMMENDED_CONTROL} or more"
            )
    undrawn = [r.text for r in rendered.values() if not r.drawable]
    if undrawn:
        shown = ", ".join(repr(t) for t in undrawn[:3])
        warnings.append(
            f"{len(undrawn)} label(s) have no word the '{generator_name}' generator can "
            f"draw (e.g. {shown}): scored on what it draws instead, flagged drawable=false"
        )
    collapsed = collapsed_table(results)
    if len(collapsed):
        shown = ", ".join(
            f"{row.method} unit {row.unit} '{row.label}'" for row in collapsed.head(5).itertuples()
        )
        more = f" and {len(collapsed) - 5} more" if len(collapsed) > 5 else ""
        warnings.append(
            f"{len(collapsed)} label(s) collapse under the generator-matched control "
            f"({COLLAPSE_RULE}): they respond to 'looks generated', not to the concept: "
            f"{shown}{more}; flagged collapsed=true"
        )
    return warnings


def _load_controls(
    config: ExplainConfig,
    natural_control: str | None,
    target: Target,
    layer: str,
    generator: ImageGenerator,
) -> dict[str, ControlSet]:
    """Each regime's control set, the generator-matched one first.

    The natural folder is read first, so a bad folder fails before anything is rendered.
    """
    if natural_control is None:
        single = choices.control_set(config, target, layer, generator)
        return {regime_of(config.control): single}
    if regime_of(natural_control) != NATURAL:
        raise ConfigError(
            "--natural-control takes a folder of natural images, not "
            f"'{natural_control}': the generator-matched control is the default"
        )
    if regime_of(config.control) != GENERATOR:
        raise ConfigError(
            "--natural-control adds natural images beside the generator-matched control; "
            f"--control is already a folder ({config.control}): pass the folder once"
        )
    try:
        natural = choices.control_set(
            replace(config, control=natural_control), target, layer, generator
        )
    except ConfigError as exc:
        raise ConfigError(f"--natural-control: {exc}") from None
    return {GENERATOR: choices.control_set(config, target, layer, generator), NATURAL: natural}


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
        "comparison.tex": latex_table(*comparison_rows(result.regimes)).encode(),
        "tests.tex": latex_table(*tests_rows(result.regimes)).encode(),
        MANIFEST_NAME: (json.dumps(result.manifest, indent=2, allow_nan=False) + "\n").encode(),
    }


def _control_info(spec: str, control_set: ControlSet) -> dict[str, Any]:
    return {
        "spec": spec,
        "description": control_set.description,
        "size": int(control_set.activations.shape[0]),
        "skipped": control_set.skipped,
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
    natural_control: str | None = None,
    control_size: int = 60,
    force: bool = False,
    progress: bool = False,
    on_progress: Progress | None = None,
    batch_size: int = 64,
    target: Target | None = None,
    image_generator: ImageGenerator | None = None,
) -> EvaluationResult:
    """Score every source's labels of ``model``/``layer`` on fresh images; write ``out_dir``.

    ``sources`` are label CSVs, run folders or folders of runs (``NAME=path`` names one).
    ``control`` is the control regime: ``generator`` (generator-matched, default) or a folder of
    images. ``natural_control`` (a folder of natural images) adds the natural regime beside the
    generator-matched one: the same rendered images are scored against both, the results get
    one row per (method, control, unit), each regime its own summaries and paired tests, and a
    label with natural AUC >= 0.8 but generator AUC <= 0.6 is flagged ``collapsed``.
    Everything is checked before any rendering: a bad model, layer, source, count, control
    folder or output folder is one ConfigError line and nothing is written. ``target`` and
    ``image_generator`` may pass loaded backends (the dashboard's cache); ``on_progress`` is
    called with (labels rendered, labels to render) after each batch.
    """
    natural_control = natural_control or None
    config = ExplainConfig(
        model=model,
        layer=layer,
        generator=generator,
        control=control,
        control_size=control_size,
        seed=seed,
        reduction=reduction,
    )
    _check_numbers(n_images, config)
    started = time.perf_counter()
    target = target or choices.target(model)
    spec = _layer_spec(model, layer, target)
    label_sets = read_sources(sources, spec)
    out = Path(out_dir or Path("evaluations") / slug(f"{target.name}-{layer}", 80)).expanduser()
    identity = _identity(model, layer, sources, n_images, config, natural_control)
    check_folder(out, identity, force)
    image_generator = image_generator or choices.generator(generator)
    controls = _load_controls(config, natural_control, target, layer, image_generator)
    labelled = sorted({u for s in label_sets for u in s.labels})
    for control_set in controls.values():
        for unit in labelled:
            require_finite(control_set.unit(unit), layer, unit)
    unique = _unique_labels(label_sets)
    rendered = _render_all(
        unique,
        target,
        layer,
        image_generator,
        n_images,
        seed,
        reduction,
        batch_size,
        progress,
        on_progress,
    )
    results = pd.concat(
        [_score_rows(label_sets, rendered, c.activations, layer, seed, regime)
         for regime, c in controls.items()], ignore_index=True,
    )  # fmt: skip
    results["collapsed"] = flag_collapsed(results)
    warnings = _warnings(label_sets, rendered, controls, results, image_generator.name)
    manifest = {
        "identity": identity,
        "model": target.name, "model_spec": model, "layer": layer, "units": spec.units,
        "n_images": n_images, "seed": seed, "seed_namespace": SEED_NAMESPACE,
        "reduction": reduction,
        "control": _control_info(control, next(iter(controls.values()))),
        "regimes": list(controls),
        "generator": {"spec": generator, "name": image_generator.name,
                      "kind": image_generator.kind},
        "sources": [{"source": s.source, "method": s.method, "kind": s.kind,
                     "layer": s.layer, "neurons": len(s.labels), "files": list(s.files),
                     "notes": list(s.notes)} for s in label_sets],
        "labels_rendered": len(rendered), "images_rendered": len(rendered) * n_images,
        **_provenance(), "seconds": round(time.perf_counter() - started, 2),
        "warnings": warnings,
    }  # fmt: skip
    if natural_control is not None:
        manifest["natural_control"] = _control_info(natural_control, controls[NATURAL])
        manifest["collapse"] = {
            "rule": COLLAPSE_RULE, "natural_min_auc": COLLAPSE_NATURAL_MIN_AUC,
            "generator_max_auc": COLLAPSE_GENERATOR_MAX_AUC,
            "flagged": len(collapsed_table(results)),
        }  # fmt: skip
    regimes = [RegimeReport.of(results, regime, seed) for regime in controls]
    result = EvaluationResult(out, results, regimes, manifest, warnings)
    write_folder(out, _files(result))
    return result
