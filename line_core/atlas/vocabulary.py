"""Vocabularies for an atlas build: the concepts rendered once for a whole layer.

A vocabulary is a broad first look: a few thousand concepts, each rendered once, whose
activation rows every unit of the layer then shares. Three come built in:

* ``grammar``: the procedural renderer's grammar covered systematically (every colour, pattern
  and shape alone, plus pattern x colour and shape x colour combinations);
* ``imagenet21k``: the first lemma of each ImageNet-21k synset, read from the lists timm ships
  (for diffusion generators, which can draw objects);
* ``seeds``: the generator's own vocabulary.

A user's file (one concept per line, or a CSV whose first column is the concept) works too.
:func:`resolve_vocabulary` picks one for a generator and drops what the generator cannot draw.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from line_core.concepts import normalise
from line_core.errors import ConfigError
from line_core.generators.base import ImageGenerator
from line_core.generators.procedural.catalogue import plural
from line_core.generators.procedural.colours import COLOURS
from line_core.generators.procedural.patterns import PATTERNS
from line_core.generators.procedural.shapes import OUTLINES

#: Colours combined with every pattern and shape: catalogue's spread of 20 hues, lightnesses
#: and neutrals, plus eight more that fill its gaps (deep red, gold, turquoise, pale purple...).
COMBO_COLOURS: tuple[str, ...] = (
    "red", "orange", "yellow", "lime", "green", "teal", "cyan", "sky blue", "blue", "navy",
    "purple", "magenta", "pink", "brown", "beige", "white", "black", "gray", "maroon", "olive",
    "crimson", "gold", "turquoise", "lavender", "indigo", "coral", "silver", "dark green",
)  # fmt: skip

#: Oriented stripes, drawn as patterns of their own alongside the plain ones.
ORIENTED_STRIPES: tuple[str, ...] = ("horizontal stripes", "vertical stripes", "diagonal stripes")

#: The longest concept a vocabulary file may hold, in characters.
MAX_CONCEPT_CHARS = 200

_TIMM = "timm"
_SYNSET_FILES = ("imagenet21k_goog_synsets.txt", "imagenet22k_synsets.txt")
_LEMMA_FILE = "imagenet_synset_to_lemma.txt"
_CSV_HEADERS = frozenset({"concept", "concepts", "name", "label", "text", "phrase"})


def unique(concepts: Iterable[str]) -> list[str]:
    """Concepts in order, stripped, without repeats (two are equal when they normalise equal)."""
    seen: set[str] = set()
    kept: list[str] = []
    for concept in concepts:
        text = " ".join(str(concept).split())
        key = normalise(text)
        if key and key not in seen:
            seen.add(key)
            kept.append(text)
    return kept


def procedural_grammar() -> list[str]:
    """The procedural renderer's grammar, covered systematically (about 1,200 concepts).

    Every named colour alone, every pattern alone (plus horizontal, vertical and diagonal
    stripes), every shape alone as one shape ("circle") and as many ("many circles": plain
    "circles" normalises to the same concept as "circle"), then each pattern and each shape
    in every colour of :data:`COMBO_COLOURS` ("red stripes", "navy checkerboard", "gold
    stars"). Deterministic order; every phrase is drawn in full by the procedural generator.
    """
    patterns = [*PATTERNS, *ORIENTED_STRIPES]
    phrases = list(COLOURS)
    phrases += patterns
    for shape in OUTLINES:
        phrases += [shape, f"many {plural(shape)}"]
    phrases += [f"{colour} {pattern}" for pattern in patterns for colour in COMBO_COLOURS]
    phrases += [f"{colour} {plural(shape)}" for shape in OUTLINES for colour in COMBO_COLOURS]
    return unique(phrases)


def _timm_info_dir() -> Path:
    """The ``data/_info`` folder of timm, found without importing it (timm imports torch)."""
    spec = importlib.util.find_spec(_TIMM)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the imagenet21k vocabulary needs the {_TIMM!r} package (it ships the ImageNet-21k "
            "synset and lemma lists): pip install timm, or pass a vocabulary file"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "_info"


@lru_cache(maxsize=4)
def _lemmas_in(info: Path) -> tuple[str, ...]:
    """The cleaned first lemma of each 21k synset listed in ``info``, deduplicated."""
    synset_file = next((info / name for name in _SYNSET_FILES if (info / name).is_file()), None)
    lemma_file = info / _LEMMA_FILE
    missing = [] if synset_file else [f"{info}/{' or '.join(_SYNSET_FILES)}"]
    missing += [] if lemma_file.is_file() else [str(lemma_file)]
    if synset_file is None or missing:
        raise ConfigError(
            f"the imagenet21k vocabulary needs timm's ImageNet-21k lists, missing: "
            f"{', '.join(missing)} (reinstall timm, or pass a vocabulary file)"
        )
    try:
        synsets = synset_file.read_text(encoding="utf-8").split()
        table: dict[str, str] = {}
        for line in lemma_file.read_text(encoding="utf-8").splitlines():
            key, _, lemmas = line.partition("\t")
            table.setdefault(key.strip(), lemmas)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read timm's ImageNet-21k lists in {info}: {exc}") from exc
    firsts = (table.get(synset, "").split(",")[0] for synset in synsets)
    return tuple(unique(lemma.replace("_", " ").strip() for lemma in firsts))


def imagenet21k_lemmas(limit: int | None = None) -> list[str]:
    """The first lemma of each ImageNet-21k synset ("tabby", "organism"), from timm's files.

    Read offline from the lists in timm's wheel (``timm/data/_info``): underscores become
    spaces, synsets without a lemma are skipped, repeats (under :func:`normalise`) dropped,
    file order kept. ``limit`` keeps the first that many. Raises :class:`ConfigError` when
    timm or its files are missing.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"imagenet21k limit must be a positive integer or None, got {limit!r}")
    lemmas = list(_lemmas_in(_timm_info_dir()))
    return lemmas if limit is None else lemmas[:limit]


def _one_line(text: str, width: int = 60) -> str:
    """A short single-line quotation of user text for an error message."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[: width - 3] + "...")


def _read_text(path: Path) -> str:
    if not path.exists():
        raise ConfigError(f"vocabulary file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"vocabulary file {path} is a directory, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read vocabulary file {path}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"vocabulary file {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line "
            f"{line}); save it as UTF-8"
        ) from exc


def _rows(text: str, is_csv: bool) -> Iterable[tuple[int, str]]:
    """(line number, concept) for each line, or each CSV row's first cell."""
    if not is_csv:
        yield from enumerate(text.splitlines(), start=1)
        return
    reader = csv.reader(text.splitlines())
    try:
        for row in reader:
            yield reader.line_num, row[0] if row else ""
    except csv.Error as exc:
        raise ConfigError(f"line {reader.line_num}: not valid CSV ({exc})") from exc


def read_vocabulary_file(path: str | Path) -> list[str]:
    """A user's vocabulary: one concept per line, UTF-8, read in order without repeats.

    Blank lines and lines starting with ``#`` are skipped. A ``.csv`` file takes the first
    column of each row (a first row headed "concept", "name" or "label" is a header). Repeats
    (under :func:`normalise`) keep their first spelling. Raises :class:`ConfigError` (one
    line) for a missing, unreadable, non-UTF-8 or empty file and for a concept longer than
    :data:`MAX_CONCEPT_CHARS` characters or without words.
    """
    path = Path(path).expanduser()
    text = _read_text(path)
    is_csv = path.suffix.lower() == ".csv"
    concepts: list[str] = []
    for number, raw in _rows(text, is_csv):
        concept = " ".join(raw.split())
        if not concept or concept.startswith("#"):
            continue
        if is_csv and not concepts and concept.lower() in _CSV_HEADERS:
            continue
        if len(concept) > MAX_CONCEPT_CHARS:
            raise ConfigError(
                f"vocabulary file {path}, line {number}: concept is {len(concept)} characters "
                f"long (at most {MAX_CONCEPT_CHARS}): {_one_line(concept)}"
            )
        if not normalise(concept):
            raise ConfigError(
                f"vocabulary file {path}, line {number}: {_one_line(concept)} has no words"
            )
        concepts.append(concept)
    kept = unique(concepts)
    if not kept:
        raise ConfigError(
            f"vocabulary file {path} holds no concepts (blank lines and # comments are skipped)"
        )
    return kept


def generator_vocabulary(generator: ImageGenerator) -> list[str]:
    """The generator's own vocabulary, or its seed concepts when it offers none."""
    return unique(generator.vocabulary() or generator.seed_concepts())


def _grammar(generator: ImageGenerator) -> list[str]:
    return procedural_grammar()


def _imagenet21k(generator: ImageGenerator) -> list[str]:
    return imagenet21k_lemmas()


VOCABULARIES: Mapping[str, Callable[[ImageGenerator], list[str]]] = MappingProxyType(
    {"grammar": _grammar, "imagenet21k": _imagenet21k, "seeds": generator_vocabulary}
)
"""Named vocabularies: name -> builder taking the generator (only ``seeds`` reads it)."""


def default_vocabulary(generator: ImageGenerator) -> str:
    """The vocabulary name used when none is given: the grammar for the procedural renderer."""
    return "grammar" if getattr(generator, "name", None) == "procedural" else "imagenet21k"


def resolve_vocabulary(spec: str | None, generator: ImageGenerator) -> tuple[str, list[str]]:
    """(a description for the manifest, the concepts) of a vocabulary, for one generator.

    ``spec`` is None or "" for the generator's default (:func:`default_vocabulary`), a name
    in :data:`VOCABULARIES`, or a path to a vocabulary file. Concepts the generator cannot
    draw are dropped and counted in the description, e.g. "grammar (1,217 concepts; 0 not
    drawable dropped)". Raises :class:`ConfigError` for an unknown name that is no file, or
    when nothing drawable remains.
    """
    text = (spec or "").strip()
    name = text or default_vocabulary(generator)
    if name in VOCABULARIES:
        label, concepts = name, VOCABULARIES[name](generator)
    elif Path(name).expanduser().exists():
        path = Path(name).expanduser()
        label, concepts = f"file {path}", read_vocabulary_file(path)
    elif "/" in name or "\\" in name or Path(name).suffix:
        raise ConfigError(
            f"vocabulary file '{Path(name).expanduser()}' does not exist (or name one of "
            f"{', '.join(VOCABULARIES)})"
        )
    else:
        raise ConfigError(
            f"unknown vocabulary {_one_line(name)}: use one of {', '.join(VOCABULARIES)} "
            "or the path of an existing file (one concept per line)"
        )
    drawable = [concept for concept in concepts if generator.draws(concept)]
    dropped = len(concepts) - len(drawable)
    if not drawable:
        raise ConfigError(
            f"vocabulary {label}: none of its {len(concepts):,} concepts can be drawn by "
            f"generator {getattr(generator, 'name', '?')!r}; pick another vocabulary"
        )
    return f"{label} ({len(drawable):,} concepts; {dropped:,} not drawable dropped)", drawable
