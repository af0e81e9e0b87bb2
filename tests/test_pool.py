import random

from line_core.concepts import ScoredConcept, concept_seeds, derive_seed
from line_core.engine.pool import update_pool


def PoolEntry(concept, auc, mad=0.0):  # noqa: N802 - reads like the type it builds
    return ScoredConcept.of(concept, auc, mad)


def _pool(scores):
    return [PoolEntry(f"c{i}", s) for i, s in enumerate(scores)]


def test_new_concept_enters_while_pool_not_full():
    pool, removed = update_pool(_pool([0.5, 0.6]), PoolEntry("new", 0.1), random.Random(0), size=3)
    assert removed is None
    assert [e.concept for e in pool] == ["c1", "c0", "new"]


def test_better_than_worst_replaces_worst():
    pool = _pool([0.9, 0.8, 0.7, 0.3])
    new_pool, removed = update_pool(pool, PoolEntry("new", 0.5), random.Random(0), size=4)
    assert removed == "c3"
    assert len(new_pool) == 4 and "new" in [e.concept for e in new_pool]


def test_worse_than_worst_removes_weighted_random_never_best():
    pool = _pool([0.9, 0.8, 0.7, 0.3])
    removed_counts = {}
    for seed in range(300):
        new_pool, removed = update_pool(pool, PoolEntry("new", 0.1), random.Random(seed), size=4)
        assert "new" in [e.concept for e in new_pool]  # always enters
        assert len(new_pool) == 4
        removed_counts[removed] = removed_counts.get(removed, 0) + 1
    assert "c0" not in removed_counts  # best never dropped
    # weights 0.1 : 0.2 : 0.6 -> c3 removed most often, c1 least
    assert removed_counts["c3"] > removed_counts["c2"] > removed_counts["c1"]


def test_mad_breaks_auc_ties():
    pool = [PoolEntry("a", 1.0, 2.0), PoolEntry("b", 1.0, 1.0)]
    new_pool, removed = update_pool(pool, PoolEntry("c", 1.0, 1.5), random.Random(0), size=2)
    assert removed == "b"
    assert [e.concept for e in new_pool] == ["a", "c"]


def test_all_equal_scores_drop_a_non_best():
    pool = _pool([0.5, 0.5, 0.5])
    new_pool, removed = update_pool(pool, PoolEntry("new", 0.5), random.Random(1), size=3)
    assert removed == "c2"  # zero weights: the lowest-ranked non-best leaves
    assert [e.concept for e in new_pool] == ["c0", "c1", "new"]


def test_seeds_differ_per_concept_and_are_stable():
    a = concept_seeds("red stripes", 42, 5)
    assert a == concept_seeds("Red  stripes", 42, 5)
    assert a != concept_seeds("blue stripes", 42, 5)
    assert a != concept_seeds("red stripes", 43, 5)
    assert len(set(a)) == 5
    assert derive_seed("x", 1) == derive_seed("x", 1) != derive_seed("x", 2)
