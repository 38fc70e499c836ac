"""Load and abuse through real HTTP, scaled down from eval/load_during_ingest.py and eval/abuse_run.py
(whose functions these tests run; the server is uvicorn in a subprocess on 127.0.0.1).

- 20 concurrent chat clients for about 10 s while the server ingests 300 new documents: no errors,
  the live generation switches exactly once and only to the complete index, answers before the
  switch never cite the new documents, answers after it do;
- the checks themselves catch a leaked answer, a switch back and a partial index;
- a mix of abuse (random keys, wrong origins, missing and demo keys, preflights from wrong origins,
  oversized bodies, bad JSON, a key's own limit, an over-limit client spoofing X-Forwarded-For)
  from many client addresses gets only the expected refusals while a legitimate client gets every
  answer. (tests/test_widget.py checks exact 200/429 counts for bursts and the per-key limit.)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
import abuse_run  # noqa: E402
import load_during_ingest as ldi  # noqa: E402
from bench_serve import Sample, served  # noqa: E402


def test_answers_switch_to_the_new_index_only_when_it_is_complete(tmp_path: Path) -> None:
    questions = ldi.SYNTHETIC_QUESTIONS + ["河北省在优化算力布局方面提出了哪些意见？"]
    trial = ldi.run_trial(tmp_path, lambda folder: ldi.write_synthetic_corpus(folder, 300), questions,
                          clients=20, seconds=10, before=3, after=1, max_seconds=60, initial_docs=10)
    print("\n" + ldi.report(trial))
    checks = {name: (passed, detail) for name, passed, detail in trial.checks}
    for name, (passed, detail) in checks.items():
        assert passed, f"{name}: {detail}"
    assert trial.samples and all(s.error is None for s in trial.samples)
    assert trial.ingest["added"] == 300 and len(trial.final_sources) == len(trial.old_sources) + 300
    last_old, first_new = ldi.switch_bounds(trial)
    assert trial.triggered is not None and last_old is not None and first_new is not None
    assert trial.triggered <= first_new <= trial.finished + 1
    assert any(s.ended <= last_old for s in trial.samples), "no answer was checked before the switch"


def _trial(samples: list[Sample], polls: list[ldi.Poll]) -> ldi.Trial:
    old, new = {"a.md", "b.md"}, {"a.md", "b.md", "new/c.md", "new/d.md"}
    trial = ldi.Trial(clients=1, questions=1, started=0.0, wall=10.0, samples=samples, polls=polls, triggered=1.0,
                      finished=5.0, ingest={"generation": "gen-2", "text": "ok"}, ingest_error=None, old_sources=old,
                      final_sources=new, old_generation="gen-1", final_generation="gen-2")
    ldi.check(trial)
    return trial


def _failed(trial: ldi.Trial) -> set[str]:
    return {name for name, passed, _ in trial.checks if not passed}


def test_the_checks_catch_leaks_switch_backs_and_partial_indexes() -> None:
    polls = [ldi.Poll(0.5, 0.6, "gen-1", 2), ldi.Poll(4.0, 4.1, "gen-1", 2), ldi.Poll(5.0, 5.1, "gen-2", 4)]
    clean = [Sample(0, 0.1, 0.2, 200, (False, frozenset({"a.md"}), frozenset({"a.md"}))),
             Sample(0, 6.0, 6.1, 200, (False, frozenset({"a.md", "new/c.md"}), frozenset({"new/c.md"})))]
    assert _failed(_trial(clean, polls)) == set()

    leak = Sample(0, 2.0, 3.0, 200, (False, frozenset({"new/c.md"}), frozenset()))
    assert _failed(_trial(clean + [leak], polls)) == {"answers before the switch cite only the old corpus"}

    back = polls + [ldi.Poll(6.0, 6.1, "gen-1", 2)]
    assert "the generation switched once, to the new index" in _failed(_trial(clean, back))

    partial = polls + [ldi.Poll(5.5, 5.6, "gen-2", 3)]
    assert _failed(_trial(clean, partial)) == {"only complete indexes were live"}

    error = Sample(0, 7.0, 7.1, 500, None, "500: boom")
    assert _failed(_trial(clean + [error], polls)) == {"no errors"}


def test_abuse_is_refused_while_the_legitimate_client_gets_every_answer(tmp_path: Path) -> None:
    index, config = abuse_run.build(tmp_path, client_rate=30)
    with served(index, config, ready_timeout=60) as (url, _, _):
        run = abuse_run.run_abuse(url, attackers=6, seconds=4, client_rate=30)
    print("\n" + abuse_run.report(run))
    for name, passed, detail in run.checks:
        assert passed, f"{name}: {detail}"
    statuses = {s.info[1] for s in run.attacks}
    assert {400, 403, 413, 429} <= statuses
    assert len(run.legit) >= 3 and all(s.status == 200 for s in run.legit)
