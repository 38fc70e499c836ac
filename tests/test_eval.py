"""`policyqa eval` end to end on a small fixture set written here: documents, questions with gold
evidence spans, an unanswerable question, a follow-up with history. Checks the printed table, the
Markdown and JSON reports, and that each metric counts what it says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import isolated_env

from assistant.evaluation import Question, Span, context_hit, must_include_coverage, passage_hits

PARKING = """---
title: "某市停车管理条例"
issuer: "某市人民代表大会常务委员会"
doc_number: ""
date: "2023-05-01"
region: "某市"
kind: "条例"
---

第一章 总则

第一条 为了加强停车管理，制定本条例。

第二章 收费管理

第十一条 道路停车泊位实行收费管理。停车人应当在离开泊位后三十日内补缴停车费。

第十二条 逾期未补缴停车费的，由交通管理部门处一百元罚款。
"""

SUBSIDY = """---
title: "某市算力券管理办法"
issuer: "某市经济和信息化局"
doc_number: "某经信发〔2024〕12号"
date: "2024-03-01"
region: "某市"
kind: "办法"
---

第一条 为降低企业使用智能算力的成本，制定本办法。

第四条 算力券按企业实际算力采购金额的百分之三十给予补贴，单个企业每年最高不超过五百万元。

第五条 企业应当通过市政务服务平台提交算力券申请，经信部门在十个工作日内完成审核。
"""

QUESTIONS = [
    {"id": "q1", "question": "停车走的时候忘了交钱，多少天内要补缴？", "type": "number",
     "gold": [{"doc": "parking", "evidence": "停车人应当在离开泊位后三十日内补缴停车费"}], "must_include": ["三十日"]},
    {"id": "q2", "question": "逾期不补缴停车费会被罚多少钱？", "type": "number",
     "gold": [{"doc": "parking", "evidence": "由交通管理部门处一百元罚款"}], "must_include": ["一百元"]},
    {"id": "q3", "question": "算力券的补贴比例是多少，每年最多补多少？", "type": "number",
     "gold": [{"doc": "sub/subsidy", "evidence": "按企业实际算力采购金额的百分之三十给予补贴"}],
     "must_include": ["30%", "五百万元"]},
    {"id": "q4", "question": "那审核要多久？", "type": "followup",
     "gold": [{"doc": "sub/subsidy", "evidence": "经信部门在十个工作日内完成审核"}], "must_include": ["10个工作日"],
     "history": [{"role": "user", "content": "算力券怎么申请？"}, {"role": "assistant", "content": "……"}]},
    {"id": "q5", "question": "火星移民签证的办理费用是多少？", "type": "unanswerable", "gold": [], "must_include": []},
]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    tmp = tmp_path_factory.mktemp("eval")
    corpus = tmp / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "parking.md").write_text(PARKING, encoding="utf-8")
    (corpus / "sub" / "subsidy.md").write_text(SUBSIDY, encoding="utf-8")
    questions = tmp / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS) + "\n", encoding="utf-8")
    env = isolated_env(tmp)
    index = tmp / "index"
    cli = [sys.executable, "-m", "assistant.cli"]
    ingest = subprocess.run([*cli, "ingest", str(corpus), "--index", str(index), "--no-dense", "-q"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert ingest.returncode == 0, ingest.stderr
    reports = tmp / "reports"
    run = subprocess.run([*cli, "eval", str(questions), "--index", str(index), "--out", str(reports)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    report = json.loads((reports / "questions.json").read_text(encoding="utf-8"))
    return reports, report, run.stdout


def test_reports_are_written_and_printed(evaluated: tuple[Path, dict, str]) -> None:
    reports, report, stdout = evaluated
    markdown = (reports / "questions.md").read_text(encoding="utf-8")
    assert "| hit@5 |" in markdown and "| q4 | followup |" in markdown
    assert "| hit@5 |" in stdout and "questions.md" in stdout
    assert [row["id"] for row in report["questions"]] == ["q1", "q2", "q3", "q4", "q5"]
    assert len(report["answers"]) == 5 and all("passages" in a for a in report["answers"])


def test_metrics_count_what_they_say(evaluated: tuple[Path, dict, str]) -> None:
    _, report, _ = evaluated
    summary = report["summary"]
    assert summary["questions"] == 4 and summary["unanswerable_questions"] == 1
    # Each answerable question's gold clause is the best match in a two-document corpus.
    assert summary["hit@1"] == 1.0 and summary["mrr@10"] == 1.0
    assert summary["context_hit@2000"] == 1.0
    # must_include matches after number normalisation: 30% = 百分之三十, 10个工作日 = 十个工作日.
    assert summary["must_include_coverage"] == 1.0
    assert summary["answers_with_correct_citation"] == 1.0
    assert 0.0 < summary["citation_precision"] <= 1.0
    assert summary["refusal_accuracy"] == 1.0 and summary["false_refusals"] == 0.0
    for stage in ("retrieve", "answer", "total"):
        assert summary[f"{stage}_ms_p95"] >= summary[f"{stage}_ms_p50"] > 0


def test_hit_rules() -> None:
    span = Span(doc="parking", evidence="处一百元罚款", start=100, end=106)
    contains = {"source": "parking.md", "text": "……处一百元罚款。", "char_start": 0, "char_end": 10}
    overlaps = {"source": "parking.md", "text": "逾期未补缴停车费的，由交通管理部门处一", "char_start": 90, "char_end": 101}
    elsewhere = {"source": "other.md", "text": "处一百元罚款", "char_start": 100, "char_end": 106}
    assert passage_hits(contains, [span]) == [0]
    assert passage_hits(overlaps, [span]) == [0]
    assert passage_hits(elsewhere, [span]) == []
    far = {"source": "parking.md", "text": "x" * 2500, "char_start": 5000, "char_end": 7500}
    assert not context_hit([far, contains], [span])
    assert context_hit([contains, far], [span])


def test_must_include_normalises_numbers() -> None:
    assert must_include_coverage("处100元罚款，30日内补缴", ["一百元", "三十日"]) == 1.0
    assert must_include_coverage("补贴比例为百分之七十", ["70%", "50%"]) == 0.5
    assert must_include_coverage("任何回答", []) == 1.0
    assert Question(id="x", question="?", type="unanswerable").answerable is False
