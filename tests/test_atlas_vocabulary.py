"""Atlas vocabularies: the procedural grammar, ImageNet-21k lemmas, user files, resolution."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from line_core.atlas import vocabulary as vocab
from line_core.atlas.vocabulary import (
    COMBO_COLOURS,
    MAX_CONCEPT_CHARS,
    ORIENTED_STRIPES,
    VOCABULARIES,
    imagenet21k_lemmas,
    procedural_grammar,
    read_vocabulary_file,
    resolve_vocabulary,
)
from line_core.concepts import normalise
from line_core.errors import ConfigError
from line_core.generators.procedural.catalogue import plural
from line_core.generators.procedural.colours import COLOURS
from line_core.generators.procedural.generator import ProceduralGenerator
from line_core.generators.procedural.patterns import PATTERNS
from line_core.generators.procedural.shapes import OUTLINES

HAS_TIMM = importlib.util.find_spec("timm") is not None
needs_timm = pytest.mark.skipif(not HAS_TIMM, reason="timm is not installed")


@pytest.fixture(scope="module")
def gen() -> ProceduralGenerator:
    return ProceduralGenerator(size=64)


@pytest.fixture(scope="module")
def grammar() -> list[str]:
    return procedural_grammar()


def _one_line_error(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def _pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int32)


def _share(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 60) -> float:
    """Fraction of pixels within ``tolerance`` (per channel) of ``rgb``."""
    return float((np.abs(pixels - np.array(rgb)).max(axis=-1) <= tolerance).mean())


# --- the procedural grammar -------------------------------------------------------------------


def test_grammar_size_distinct_and_deterministic(grammar):
    assert 1000 <= len(grammar) <= 2500
    assert len({normalise(c) for c in grammar}) == len(grammar)
    assert procedural_grammar() == grammar


def test_grammar_every_phrase_is_drawn_in_full(grammar, gen):
    bad = [c for c in grammar if not gen.draws(c) or gen.unrendered_words(c)]
    assert bad == []


def test_grammar_covers_colours_patterns_and_shapes_alone(grammar):
    have = set(grammar)
    assert set(COLOURS) <= have
    assert set(PATTERNS) <= have
    assert set(ORIENTED_STRIPES) <= have
    for shape in OUTLINES:
        assert shape in have
        assert f"many {plural(shape)}" in have


def test_grammar_combines_every_pattern_and_shape_with_every_combo_colour(grammar):
    have = set(grammar)
    assert set(COMBO_COLOURS) <= set(COLOURS)
    assert len(set(COMBO_COLOURS)) == len(COMBO_COLOURS) >= 20
    for colour in COMBO_COLOURS:
        for pattern in [*PATTERNS, *ORIENTED_STRIPES]:
            assert f"{colour} {pattern}" in have
        for shape in OUTLINES:
            assert f"{colour} {plural(shape)}" in have
    assert {"red stripes", "blue circles", "red checkerboard", "navy vertical stripes"} <= have


def test_grammar_colours_render_as_that_colour(gen):
    for name in ("red", "blue", "yellow", "black"):
        pixels = _pixels(gen.render(name, 1))
        assert _share(pixels, COLOURS[name]) > 0.8, name


def test_grammar_pattern_colour_combinations_render_differently(gen):
    red, blue = (_pixels(gen.render(c, 1)) for c in ("red stripes", "blue stripes"))
    assert not np.array_equal(red, blue)
    assert _share(red, COLOURS["red"]) > 0.15 > _share(red, COLOURS["blue"])
    assert _share(blue, COLOURS["blue"]) > 0.15 > _share(blue, COLOURS["red"])
    # orientation is drawn: vertical stripes vary along x, horizontal ones along y
    vertical = _pixels(gen.render("vertical stripes", 1)).sum(axis=-1)
    horizontal = _pixels(gen.render("horizontal stripes", 1)).sum(axis=-1)
    assert vertical.std(axis=0).mean() < vertical.std(axis=1).mean()
    assert horizontal.std(axis=1).mean() < horizontal.std(axis=0).mean()


def test_grammar_shape_colour_combinations_render_the_colour_and_the_count(gen):
    green = _pixels(gen.render("green circles", 1))
    assert 0.02 < _share(green, COLOURS["green"]) < 0.9
    one = _pixels(gen.render("circle", 1))
    many = _pixels(gen.render("many circles", 1))
    assert not np.array_equal(one, many)


# --- ImageNet-21k lemmas ----------------------------------------------------------------------


@needs_timm
def test_imagenet21k_lemmas_are_many_clean_and_distinct():
    lemmas = imagenet21k_lemmas()
    assert len(lemmas) > 10_000
    assert {"tabby", "organism", "great white shark", "golden retriever"} <= set(lemmas)
    assert not any("_" in lemma or lemma != lemma.strip() or not lemma for lemma in lemmas)
    assert len({normalise(lemma) for lemma in lemmas}) == len(lemmas)
    assert lemmas[0] == "organism"  # the first synset, "organism, being": first lemma only
    assert imagenet21k_lemmas(limit=5) == lemmas[:5]
    assert imagenet21k_lemmas() == lemmas


def test_imagenet21k_bad_limit():
    with pytest.raises(ConfigError) as excinfo:
        imagenet21k_lemmas(limit=0)
    assert "limit" in _one_line_error(excinfo)


def test_imagenet21k_without_timm_names_it(monkeypatch):
    monkeypatch.setattr(vocab, "_TIMM", "timm_is_not_installed_here")
    with pytest.raises(ConfigError) as excinfo:
        imagenet21k_lemmas()
    assert "timm_is_not_installed_here" in _one_line_error(excinfo)


@needs_timm
def test_imagenet21k_missing_files_are_named(monkeypatch):
    monkeypatch.setattr(vocab, "_SYNSET_FILES", ("no_such_synsets.txt",))
    vocab._lemmas_in.cache_clear()
    try:
        with pytest.raises(ConfigError) as excinfo:
            imagenet21k_lemmas()
    finally:
        vocab._lemmas_in.cache_clear()
    assert "no_such_synsets.txt" in _one_line_error(excinfo)


# --- user files -------------------------------------------------------------------------------


def test_read_text_file_skips_comments_blanks_and_repeats(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text(
        "# my concepts\n\nred stripes\n  Blue   circles \n# more\nThe red stripes\nzebra\n\n",
        encoding="utf-8",
    )
    assert read_vocabulary_file(path) == ["red stripes", "Blue circles", "zebra"]


def test_read_csv_takes_first_column_and_skips_header(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text(
        'concept,source\nred stripes,me\n"stars, many",you\n# note,x\n,empty\nred stripe,dup\n',
        encoding="utf-8",
    )
    assert read_vocabulary_file(path) == ["red stripes", "stars, many"]


def test_read_accepts_utf8_bom_and_unicode(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes("\ufeffcafé au lait\nrot\n".encode())
    assert read_vocabulary_file(path) == ["café au lait", "rot"]


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda p: p / "absent.txt", "does not exist"),
        (lambda p: p, "directory"),
        (
            lambda p: _write(p / "latin1.txt", b"red\nbl\xe9\n"),
            "not UTF-8 text (byte 0xe9 on line 2)",
        ),
        (lambda p: _write(p / "empty.txt", b"# only a comment\n\n   \n"), "no concepts"),
        (lambda p: _write(p / "long.txt", b"red\n" + b"x" * 201 + b"\n"), "line 2"),
        (lambda p: _write(p / "noword.txt", b"red\n---\n"), "line 2"),
    ],
)
def test_read_bad_files_raise_one_line(tmp_path, make, expect):
    path = make(tmp_path)
    with pytest.raises(ConfigError) as excinfo:
        read_vocabulary_file(path)
    message = _one_line_error(excinfo)
    assert expect in message
    assert str(path) in message


def test_read_limit_is_exactly_max_chars(tmp_path):
    ok = "x" * MAX_CONCEPT_CHARS
    assert read_vocabulary_file(_write(tmp_path / "ok.txt", ok.encode())) == [ok]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_read_unreadable_file(tmp_path):
    path = _write(tmp_path / "secret.txt", b"red\n")
    path.chmod(0)
    try:
        with pytest.raises(ConfigError) as excinfo:
            read_vocabulary_file(path)
    finally:
        path.chmod(0o600)
    assert "cannot read" in _one_line_error(excinfo)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- resolving a vocabulary for a generator ---------------------------------------------------


class _PhotoGenerator:
    """A stand-in for a diffusion generator: it draws anything (no renderer is mocked)."""

    name = "diffusers:tiny"

    def draws(self, concept: str) -> bool:
        return True

    def vocabulary(self) -> list[str]:
        return []

    def seed_concepts(self) -> list[str]:
        return ["a cat", "a dog", "The cat"]


def test_resolve_default_for_procedural_is_the_whole_grammar(gen, grammar):
    for spec in (None, "", "  "):
        description, concepts = resolve_vocabulary(spec, gen)
        assert concepts == grammar
        assert description == f"grammar ({len(grammar):,} concepts; 0 not drawable dropped)"


@needs_timm
def test_resolve_default_for_other_generators_is_imagenet21k():
    description, concepts = resolve_vocabulary(None, _PhotoGenerator())
    assert concepts == imagenet21k_lemmas()
    assert description.startswith("imagenet21k (")


def test_resolve_named_seeds(gen):
    description, concepts = resolve_vocabulary("seeds", gen)
    # the generator's own list, less phrasings that normalise alike ("circles" is "circle")
    assert concepts == vocab.unique(gen.vocabulary())
    assert "circle" in concepts and "red circles" in concepts
    assert 300 < len(concepts) < len(gen.vocabulary())
    assert description.startswith("seeds (")
    assert set(VOCABULARIES) == {"grammar", "imagenet21k", "seeds"}
    # a generator without a vocabulary falls back to its seed concepts, deduplicated
    assert resolve_vocabulary("seeds", _PhotoGenerator())[1] == ["a cat", "a dog"]


def test_resolve_file_drops_and_counts_undrawable(tmp_path, gen):
    path = _write(tmp_path / "mine.txt", b"red stripes\nzebra\nsemicircle\nblue circles\n")
    description, concepts = resolve_vocabulary(str(path), gen)
    assert concepts == ["red stripes", "blue circles"]
    assert description == f"file {path} (2 concepts; 2 not drawable dropped)"
    # the same file for a generator that draws everything keeps all four
    assert len(resolve_vocabulary(str(path), _PhotoGenerator())[1]) == 4


def test_resolve_nothing_drawable_raises(tmp_path, gen):
    path = _write(tmp_path / "animals.txt", b"zebra\nsemicircle\n")
    with pytest.raises(ConfigError) as excinfo:
        resolve_vocabulary(str(path), gen)
    assert "none of its 2 concepts" in _one_line_error(excinfo)


def test_resolve_unknown_name_lists_the_names(gen):
    with pytest.raises(ConfigError) as excinfo:
        resolve_vocabulary("wordnet", gen)
    message = _one_line_error(excinfo)
    assert "'wordnet'" in message
    for name in ("grammar", "imagenet21k", "seeds"):
        assert name in message
