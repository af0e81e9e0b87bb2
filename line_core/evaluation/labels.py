"""Label sources for an evaluation: our runs, and the CSV files other methods publish.

A source is one of

* a run folder (it has a ``manifest.json``): the run's label, bans applied
  (``RunHistory.best``), named ``LINE (<proposer>)``;
* a folder of runs: every run of the evaluated model and layer, the latest run per unit
  (by the manifest's creation time), one :class:`LabelSet` per proposer;
* a CSV file in a peer format, detected from its header:

  - ``layer,unit,description[,similarity]`` as CLIP-Dissect and MILAN write (rows of other
    layers are left out; a file with none of the asked layer is refused);
  - ``neuron,concept[,...]`` as INVERT writes (``concept`` is already the class name);
  - FALCON's ``group,Unnamed: 0,concept_set_words,concept_set_noun_phrases``: ``group`` is the
    unit (a comma list gives every unit of the group the group's label) and the label is the
    highest-scoring noun phrase, the first on ties, as the CoSy benchmark reads FALCON (its
    ``load_explanations`` takes ``concept_set_noun_phrases[0][0]``); the top single word when
    the group has no phrase. Phrases describe a feature group better than single words
    ("ripe bananas" over "green").

A CSV's method name is its folder's name (``CLIP-Dissect/resnet18-layer4.csv`` is
"CLIP-Dissect"); ``NAME=path`` names any source. Every problem is one ConfigError line naming
the file and what was expected.
"""

from __future__ import annotations

import ast
import csv
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from line_core.errors import ConfigError, RunStoreError
from line_core.record.history import RunHistory
from line_core.record.read import list_runs, load_history
from line_core.record.store import MANIFEST

#: The peer formats, by the columns that identify them (lower case).
FORMATS: dict[str, tuple[str, ...]] = {
    "falcon": ("group", "concept_set_noun_phrases"),
    "layer-unit-description": ("layer", "unit", "description"),
    "neuron-concept": ("neuron", "concept"),
}
EXPECTED_HEADERS = (
    "'layer,unit,description[,similarity]' (CLIP-Dissect, MILAN), "
    "'neuron,concept[,...]' (INVERT) or "
    "'group,...,concept_set_words,concept_set_noun_phrases' (FALCON)"
)


@dataclass(frozen=True)
class LabelSet:
    """One method's labels of units of one layer (``layer`` None: the file does not say)."""

    method: str
    layer: str | None
    labels: dict[int, str]
    source: str = ""  #: the source as given (path or NAME=path)
    kind: str = ""  #: "run", "runs" or the CSV format
    files: tuple[str, ...] = ()  #: files read (CSV, or run manifests)
    notes: tuple[str, ...] = field(default=())  #: what was skipped, and why


@dataclass(frozen=True)
class LayerSpec:
    """The layer being evaluated: which model names count as this model, and its size."""

    model_names: Collection[str]
    layer: str
    units: int
    #: The model's other layers: a CSV named ``MODEL-LAYER.csv`` (the CoSy naming) after one of
    #: them is refused even when its rows do not say their layer.
    other_layers: Collection[str] = ()

    @property
    def model(self) -> str:
        """The model's name for messages."""
        return next(iter(self.model_names), "?")


def split_source(text: str) -> tuple[str | None, Path]:
    """``NAME=path`` -> (NAME, path); a plain path (even one holding '=') -> (None, path)."""
    name, sep, rest = str(text).partition("=")
    if sep and name.strip() and rest and "/" not in name and not Path(text).exists():
        return name.strip(), Path(rest).expanduser()
    return None, Path(text).expanduser()


def read_source(text: str, spec: LayerSpec) -> list[LabelSet]:
    """The label set(s) of one source: a CSV file, a run folder or a folder of runs."""
    name, path = split_source(text)
    if path.is_file():
        return [read_csv_labels(path, spec, method=name, source=text)]
    if not path.is_dir():
        raise ConfigError(
            f"label source '{path}' does not exist: give a label CSV, a run folder or a "
            "folder of runs"
        )
    if (path / MANIFEST).is_file():
        return [read_run_labels(path, spec, method=name, source=text)]
    return read_runs_labels(path, spec, method=name, source=text)


def read_sources(sources: Sequence[str], spec: LayerSpec) -> list[LabelSet]:
    """Every source's label sets; ConfigError on none, or on two methods of one name."""
    if not sources:
        raise ConfigError("no label source given: pass --labels with a CSV, run or runs folder")
    sets = [s for text in sources for s in read_source(text, spec)]
    seen: dict[str, str] = {}
    for label_set in sets:
        if label_set.method in seen:
            raise ConfigError(
                f"two label sources are both named '{label_set.method}' ({seen[label_set.method]}"
                f" and {label_set.source}): name them with NAME=path"
            )
        seen[label_set.method] = label_set.source
    return sets


# -- CSV files ------------------------------------------------------------------------------
def detect_format(header: Iterable[str]) -> str | None:
    """The peer format a CSV header fits (see :data:`FORMATS`), or None."""
    columns = {h.strip().lower() for h in header}
    for name, needed in FORMATS.items():
        if set(needed) <= columns:
            return name
    return None


def read_csv_labels(
    path: Path, spec: LayerSpec, method: str | None = None, source: str = ""
) -> LabelSet:
    """Labels of a peer CSV file for ``spec``'s layer; ConfigError for anything off."""
    rows, kind = _read_rows(path)
    method = method or path.resolve().parent.name or path.stem
    named = _layer_in_name(path, spec)
    if named is not None:
        raise ConfigError(
            f"{path}: the file name says layer '{named}', not '{spec.layer}': give the file of "
            f"layer '{spec.layer}' or evaluate that layer (--layer)"
        )
    notes: list[str] = []
    layer: str | None = None
    if kind == "layer-unit-description":
        layers = {r["layer"].strip() for r in rows}
        if spec.layer not in layers:
            shown = ", ".join(sorted(layers)[:4])
            raise ConfigError(
                f"{path}: labels of layer(s) {shown}, not of '{spec.layer}': give the file of "
                f"layer '{spec.layer}' or evaluate that layer (--layer)"
            )
        if len(layers) > 1:
            notes.append(f"rows of other layers left out ({len(layers) - 1} layer(s))")
        rows = [r for r in rows if r["layer"].strip() == spec.layer]
        layer = spec.layer
        pairs = [(r["_line"], r["unit"], r["description"]) for r in rows]
    elif kind == "neuron-concept":
        pairs = [(r["_line"], r["neuron"], r["concept"]) for r in rows]
    else:
        pairs = [(r["_line"], u, _falcon_label(path, r)) for r in rows for u in _group(r)]
    labels = _unit_labels(path, pairs, spec, notes)
    return LabelSet(method, layer, labels, source or str(path), kind, (str(path),), tuple(notes))


def _layer_in_name(path: Path, spec: LayerSpec) -> str | None:
    """Another layer of the model named at the end of ``MODEL-LAYER.csv``, else None."""
    name = path.name[: -len(path.suffix)] if path.suffix.lower() == ".csv" else path.name
    for layer in spec.other_layers:
        if layer != spec.layer and name.endswith(f"-{layer}"):
            return layer
    return None


def _read_rows(path: Path) -> tuple[list[dict[str, str]], str]:
    """The rows of a CSV (keys lower case, ``_line`` = file line) and its detected format."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise ConfigError(f"{path} is empty: expected a header {EXPECTED_HEADERS}")
            kind = detect_format(header)
            if kind is None:
                shown = ",".join(h.strip() for h in header)[:120]
                raise ConfigError(
                    f"{path}: header '{shown}' fits no known label format; expected "
                    f"{EXPECTED_HEADERS}"
                )
            keys = [h.strip().lower() for h in header]
            rows = []
            for number, values in enumerate(reader, start=2):
                if not any(v.strip() for v in values):
                    continue
                row = dict(zip(keys, values, strict=False))
                row["_line"] = str(number)
                rows.append(row)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a UTF-8 text CSV: expected {EXPECTED_HEADERS}") from None
    except csv.Error as exc:
        raise ConfigError(f"{path} is not a readable CSV ({exc})") from None
    if not rows:
        raise ConfigError(f"{path} has a header but no rows: expected one row per unit")
    return rows, kind


def _unit(path: Path, line: str, value: str | None) -> int:
    text = (value or "").strip()
    try:
        number = float(text)
        if not number.is_integer():
            raise ValueError(text)
    except ValueError:
        raise ConfigError(f"{path} line {line}: unit '{text}' is not a whole number") from None
    return int(number)


def _group(row: dict[str, str]) -> list[str]:
    """FALCON's ``group``: one unit, or a comma list of the units of a feature group."""
    return (row.get("group") or "").strip().strip("[]()").split(",")


def _falcon_label(path: Path, row: dict[str, str]) -> str:
    """The top noun phrase of a FALCON row (the top word when it has no phrase)."""
    for column in ("concept_set_noun_phrases", "concept_set_words"):
        text = (row.get(column) or "").strip()
        if not text:
            continue
        try:
            scored = ast.literal_eval(text)
            best = max(scored, key=lambda pair: float(pair[1]), default=None)
        except (ValueError, SyntaxError, TypeError, IndexError, MemoryError, RecursionError):
            raise ConfigError(
                f"{path} line {row['_line']}: {column} is not a list of (text, score) pairs"
            ) from None
        if best is not None:
            return str(best[0])
    return ""


def _unit_labels(
    path: Path, pairs: Sequence[tuple[str, str, str]], spec: LayerSpec, notes: list[str]
) -> dict[int, str]:
    """{unit: label} with range, duplicate and blank checks."""
    labels: dict[int, str] = {}
    out_of_range: list[int] = []
    blank = 0
    for line, unit_text, label in pairs:
        unit = _unit(path, line, unit_text)
        text = " ".join(str(label or "").split())
        if not 0 <= unit < spec.units:
            out_of_range.append(unit)
            continue
        if not text:
            blank += 1
            continue
        if unit in labels and labels[unit] != text:
            raise ConfigError(
                f"{path} line {line}: unit {unit} has two labels ('{labels[unit]}' and "
                f"'{text}'): keep one row per unit"
            )
        labels[unit] = text
    if out_of_range:
        shown = ", ".join(str(u) for u in sorted(set(out_of_range))[:5])
        raise ConfigError(
            f"{path}: {len(out_of_range)} unit(s) out of range for {spec.model} layer "
            f"'{spec.layer}' (e.g. {shown}; valid 0..{spec.units - 1}): is it the file of "
            "another model or layer?"
        )
    if blank:
        notes.append(f"{blank} unit(s) with a blank label left out")
    if not labels:
        raise ConfigError(f"{path}: no unit has a label")
    return dict(sorted(labels.items()))


# -- runs -----------------------------------------------------------------------------------
def run_method(history: RunHistory) -> str:
    """A run's method name: ``LINE (<proposer>)``."""
    manifest = history.manifest
    proposer = manifest.backend_name("proposer") if manifest is not None else "?"
    return f"LINE ({proposer})"


def _fits(history: RunHistory, spec: LayerSpec) -> bool:
    manifest = history.manifest
    if manifest is None or manifest.layer != spec.layer:
        return False
    names = {manifest.config.model, manifest.backend_name("model")}
    return bool(names & set(spec.model_names))


def read_run_labels(
    run_dir: Path, spec: LayerSpec, method: str | None = None, source: str = ""
) -> LabelSet:
    """The label of one run folder (its best concept with bans applied)."""
    history = _history(run_dir)
    manifest = history.manifest
    if manifest is None or not _fits(history, spec):
        what = f"{manifest.config.model} layer '{manifest.layer}'" if manifest else "?"
        raise ConfigError(
            f"run {run_dir} explains {what}, not {spec.model} layer '{spec.layer}'"
        )
    best = history.best()
    if best is None:
        raise ConfigError(f"run {run_dir} has no scored concept yet: nothing to evaluate")
    neuron = manifest.neuron
    if not 0 <= neuron < spec.units:
        raise ConfigError(f"run {run_dir}: unit {neuron} is out of range 0..{spec.units - 1}")
    notes = () if history.status == "finished" else (f"run is {history.status}: best so far",)
    return LabelSet(
        method or run_method(history), spec.layer, {neuron: best.concept}, source or str(run_dir),
        "run", (str(run_dir / MANIFEST),), notes,
    )


def read_runs_labels(
    folder: Path, spec: LayerSpec, method: str | None = None, source: str = ""
) -> list[LabelSet]:
    """Labels of the runs of ``spec``'s layer under a folder: the latest run per unit.

    Runs are grouped by method (``LINE (<proposer>)``) unless ``method`` names them all.
    """
    runs = list_runs(folder)
    if not runs:
        raise ConfigError(
            f"{folder} holds no LINE run (no manifest.json below it) and is not a label file"
        )
    latest: dict[tuple[str, int], tuple[str, Path, RunHistory]] = {}
    other = unreadable = unlabelled = 0
    for run_dir in runs:
        try:
            history = load_history(run_dir)
        except RunStoreError:
            unreadable += 1
            continue
        if not _fits(history, spec) or not 0 <= history.manifest.neuron < spec.units:
            other += 1
            continue
        if history.best() is None:
            unlabelled += 1
            continue
        key = (method or run_method(history), history.manifest.neuron)
        when = _created(history, run_dir)
        if key not in latest or when > latest[key][0]:
            latest[key] = (when, run_dir, history)
    if not latest:
        raise ConfigError(
            f"{folder} holds {len(runs)} run(s) but none of {spec.model} layer '{spec.layer}' "
            "with a scored concept"
        )
    notes = []
    for count, why in ((other, "of another model or layer"), (unreadable, "unreadable"),
                       (unlabelled, "with no scored concept yet")):
        if count:
            notes.append(f"{count} run(s) {why} left out")
    sets = []
    for name in sorted({m for m, _ in latest}):
        chosen = sorted((u, r, h) for (m, u), (_, r, h) in latest.items() if m == name)
        unfinished = sum(1 for _, _, h in chosen if h.status != "finished")
        extra = [f"{unfinished} run(s) not finished: best so far"] if unfinished else []
        sets.append(
            LabelSet(
                name, spec.layer, {u: h.best().concept for u, _, h in chosen},
                source or str(folder), "runs", tuple(str(r / MANIFEST) for _, r, _ in chosen),
                tuple(notes + extra),
            )
        )
    return sets


def _history(run_dir: Path) -> RunHistory:
    try:
        return load_history(run_dir)
    except RunStoreError as exc:
        raise ConfigError(f"label source {run_dir} is not a readable run: {exc}") from None


def _created(history: RunHistory, run_dir: Path) -> str:
    """A sortable creation time: the manifest's (as UTC ISO), else the folder's mtime."""
    text = history.manifest.created if history.manifest else ""
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        moment = datetime.fromtimestamp(run_dir.stat().st_mtime).astimezone()
    return moment.astimezone(timezone.utc).isoformat() + f"|{run_dir.name}"
