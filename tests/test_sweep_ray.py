"""A sweep on Ray (a local cluster: ``ray.init(num_cpus=2)``) gives the labels of a sweep without
it; the rendering happened on the actor, writing into the shared atlas."""

import pytest

from line_core.config import ExplainConfig
from line_core.engine.sweep import plan_sweep
from line_core.record import RunStore, load_history
from line_core.targets import load_target

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

SETTINGS = dict(model="planted", layer="units", iterations=2, images_per_concept=2,
                control_size=20)


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _sweep(tmp_path, name, monkeypatch, **options):
    monkeypatch.setenv("LINE_ATLAS_DIR", str(tmp_path / f"atlas-{name}"))
    config = ExplainConfig(runs_dir=str(tmp_path / name), **SETTINGS)
    return plan_sweep(config, "0,6,12", target=load_target("planted"), **options)


def test_a_sweep_on_ray_gives_the_same_labels(tmp_path, monkeypatch, local_ray):
    plain = _sweep(tmp_path, "plain", monkeypatch).run()
    on_ray = _sweep(tmp_path, "ray", monkeypatch, ray="local")
    assert on_ray.remote is not None and len(on_ray.remote.actors) == 1
    report = on_ray.run()
    assert [o.status for o in report.outcomes] == ["finished"] * 3
    assert [(o.neuron, o.label) for o in report.outcomes] == \
        [(o.neuron, o.label) for o in plain.outcomes]
    for ours, theirs in zip(report.outcomes, plain.outcomes, strict=True):
        mine = [(r.concept, r.source, round(r.auc, 6)) for r in load_history(ours.run_dir).records]
        other = [(r.concept, r.source, round(r.auc, 6))
                 for r in load_history(theirs.run_dir).records]
        assert mine == other
    # the actor rendered the rounds into the shared atlas; the driver rendered none of them
    assert report.rendered == plain.rendered > 0
    events = [e for o in report.outcomes for e in RunStore.open(o.run_dir).events()
              if e.type == "images_generated"]
    assert events and all(e.cached == len(e.seeds) for e in events)
