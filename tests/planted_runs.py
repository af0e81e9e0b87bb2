"""Run folders for tests, made by the real loop on the planted model (never hand-written).

A scripted proposer fixes which concepts are tried (so assertions can name them), but
everything else is the real thing: the engine's door, the procedural renderer, the planted
model's activations, the generator-matched control, scores, the pool rule, researcher commands
(an injected concept is the user's), the summary iteration and the record's own files.
"""

from __future__ import annotations

from pathlib import Path

from line_core import engine
from line_core.config import ExplainConfig
from line_core.proposers import Proposal, ProposalRequest
from line_core.record import Inject, RunStore

#: kind -> (planted unit, scripted proposals (concept, source); the last is the summary's).
SCHEDULES: dict[str, tuple[int, list[tuple[str, str]]]] = {
    "mono": (0, [("crimson", "llm"), ("blue squares", "lexicon"), ("scarlet", "llm"),
                 ("red stripes", "lexicon"), ("green triangles", "llm"), ("red color", "llm")]),
    "or": (12, [("vertical stripes", "llm"), ("crimson", "lexicon"), ("green triangles", "llm"),
                ("vertical bars", "lexicon"), ("pink flowers", "llm"), ("red or stripes", "llm")]),
}
INJECTED = "purple checkerboard"


class ScriptedProposer:
    """Proposes a fixed list of concepts in order, each with its recorded source."""

    name = "scripted"

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = list(script)
        self.calls = 0

    def propose(self, request: ProposalRequest) -> Proposal:
        """The next scripted concept (the last one again when the script is used up)."""
        concept, source = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        best = request.pool[0].concept if request.pool else "nothing yet"
        return Proposal(concept, f"the pool's best is {best}; try {concept}", source)


def make_run(
    root: Path | str,
    kind: str = "mono",
    *,
    control: str = "generator",
    finished: bool = True,
    inject: str | None = INJECTED,
) -> Path:
    """Run the real loop on a planted unit with a scripted proposer; returns the run folder.

    ``finished=False`` stops after iteration 2 (the run is then ``interrupted``);
    ``inject`` is a researcher's concept posted before the run starts (scored at iteration 1).
    """
    unit, script = SCHEDULES[kind]
    config = ExplainConfig(model="planted", layer="units", neuron=unit, control=control,
                           control_size=40, iterations=len(script) - 1, runs_dir=str(root),
                           probe_share=0.0)  # the script alone decides what is tried
    started = engine.start(config, proposer=ScriptedProposer(script))
    store = started.explainer.store
    if inject:
        store.post(Inject(concepts=(inject,)))
    for event in started.explainer.run():
        if not finished and getattr(event, "type", "") == "iteration_done" and (
            event.iteration == 2
        ):
            break
    started.explainer.store.lock.release()
    return store.run_dir


def open_run(run_dir: Path) -> RunStore:
    """The store of a test run."""
    return RunStore.open(run_dir)
