"""Structure, chunking and metadata on texts written here (plus the seed and, when present, the shared corpus)."""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path

import pytest

from assistant.chunk import Chunker, PolicyChunker
from assistant.documents import DocumentMeta, Passage, PolicyDocument
from assistant.load import SourceFile, load_document
from assistant.metadata import read_metadata, split_front_matter, to_iso_date
from assistant.structure import RANK_ARTICLE, Heading, classify, parse_sections

LAW = """北京市数据管理条例

第一章 总则

第一条 为了规范数据管理，促进数据依法有序流动，根据有关法律、行政法规，结合本市实际，制定本条例。

第二条 本条例适用于本市行政区域内的数据处理、数据安全管理及相关监督管理活动。

第二章 管理

第十一条 市数据主管部门负责下列工作：
（一）统筹全市公共数据资源的归集、共享和开放；
（二）组织编制全市公共数据目录和数据标准；
（三）监督检查公共数据安全管理制度的落实情况。

第十二条 各区人民政府应当加强数据基础设施建设，保障数据安全，推动数据要素市场培育。

第三章 附则

第二十条 本条例自2024年1月1日起施行。
"""

OPINION = """北京市关于加快数据要素市场建设的实施意见

各区人民政府，市政府各委、办、局：

一、总体要求
（一）指导思想。坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻落实党中央、国务院关于构建数据基础制度的决策部署，统筹发展和安全。
（二）主要目标
1.到2025年，数据要素市场体系基本建成。
2.数据交易规模显著提升。
（1）培育数据商100家。
（2）建设行业数据专区10个。
二、重点任务
（一）加强统筹。各区要建立数据要素工作协调机制，明确责任分工，定期调度工作进展，研究解决重大问题。
（二）培育市场主体。支持数据商、第三方专业服务机构发展，鼓励企业开展数据资产登记和评估。
附件：重点任务分工表
1.市经济和信息化局：牵头推进数据要素市场建设。
2.市发展改革委：负责数据基础设施项目审批。
"""


def doc(text: str, doc_id: str = "d1") -> PolicyDocument:
    return PolicyDocument(doc_id=doc_id, source=f"{doc_id}.md", text=text)


def check_offsets(document: PolicyDocument, passages: list[Passage]) -> None:
    """Every passage is a non-empty, stripped slice of the text at its offsets, in order."""
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    previous_end = 0
    for p in passages:
        assert p.text and p.text == p.text.strip()
        assert document.text[p.char_start:p.char_end] == p.text
        assert p.char_start >= previous_end
        previous_end = p.char_end


def passage_with(passages: list[Passage], needle: str) -> Passage:
    found = [p for p in passages if needle in p.text]
    assert len(found) == 1, f"{needle!r} is in {len(found)} passages"
    return found[0]


# -- structure -------------------------------------------------------------------------------


def test_law_paths_are_chapter_and_article() -> None:
    paths = [s.path for s in parse_sections(LAW)]
    assert ("第一章 总则", "第一条") in paths
    assert ("第二章 管理", "第十二条") in paths
    assert ("第三章 附则", "第二十条") in paths
    articles = [s for s in parse_sections(LAW) if s.is_article]
    assert [s.path[-1] for s in articles] == ["第一条", "第二条", "第十一条", "第十二条", "第二十条"]

    document = doc(LAW)
    passages = Chunker(min_chars=40, max_chars=200).split(document)
    check_offsets(document, passages)
    assert passage_with(passages, "推动数据要素市场培育").section_path == ("第二章 管理", "第十二条")
    assert passage_with(passages, "自2024年1月1日起施行").section_path == ("第三章 附则", "第二十条")


def test_article_items_stay_inside_the_article() -> None:
    sections = parse_sections(LAW)
    assert not any("（一）" in label for s in sections for label in s.path)
    document = doc(LAW)
    passages = Chunker(min_chars=40, max_chars=300).split(document)
    article = passage_with(passages, "第十一条")
    assert article.section_path == ("第二章 管理", "第十一条")
    for item in ("（一）统筹全市", "（二）组织编制", "（三）监督检查"):
        assert item in article.text


def test_short_articles_are_never_merged() -> None:
    text = "第一条 为了规范管理，制定本办法。\n第二条 本办法适用于本市。\n第三条 本办法自发布之日起施行。\n"
    document = doc(text)
    passages = Chunker(min_chars=100, max_chars=500).split(document)
    check_offsets(document, passages)
    assert [p.section_path for p in passages] == [("第一条",), ("第二条",), ("第三条",)]


def test_enumeration_nesting() -> None:
    paths = [s.path for s in parse_sections(OPINION)]
    assert ("一、总体要求", "（一）指导思想") in paths
    assert ("一、总体要求", "（二）主要目标", "2.数据交易规模显著提升。", "（1）培育数据商100家。") in paths
    assert ("一、总体要求", "（二）主要目标", "2.数据交易规模显著提升。", "（2）建设行业数据专区10个。") in paths
    # a new 一、-level heading closes every deeper one
    assert ("二、重点任务",) in paths
    assert ("二、重点任务", "（一）加强统筹") in paths


def test_inline_heading_label_stops_at_the_first_full_stop() -> None:
    heading = classify("（一）加强统筹。各区要建立数据要素工作协调机制，明确责任分工。")
    assert heading is not None and heading.label == "（一）加强统筹"
    assert classify("一、总体要求").label == "一、总体要求"
    assert classify("各区要建立协调机制。") is None
    assert classify("第十二条 各区人民政府应当……").label == "第十二条"
    assert classify("## 第一章  总则").label == "第一章 总则"
    long = classify("（三）" + "加" * 100)
    assert long is not None and len(long.label) <= 60


def test_attachment_starts_a_new_top_level_section() -> None:
    sections = parse_sections(OPINION)
    attachment = [s for s in sections if s.path and s.path[0].startswith("附件")]
    assert attachment, "附件 opened no section"
    assert attachment[0].path == ("附件：重点任务分工表",)
    items = [s.path for s in sections if len(s.path) == 2 and s.path[0] == "附件：重点任务分工表"]
    assert len(items) == 2
    assert items[0][1].startswith("1.市经济和信息化局") and items[1][1].startswith("2.市发展改革委")
    document = doc(OPINION)
    passages = Chunker(min_chars=40, max_chars=400).split(document)
    check_offsets(document, passages)
    # the attachment never shares a passage with the last section before it
    annex = passage_with(passages, "附件：重点任务分工表")
    assert annex.section_path[0].startswith("附件")
    assert "培育市场主体" not in annex.text


def test_bare_heading_joins_the_section_it_heads() -> None:
    document = doc(OPINION)
    # max_chars below the size of all of 二、 so that its items are passages of their own
    passages = Chunker(min_chars=20, max_chars=80).split(document)
    check_offsets(document, passages)
    assert not any(p.text == "二、重点任务" for p in passages)
    first = passage_with(passages, "（一）加强统筹")
    assert first.text.startswith("二、重点任务")
    assert first.section_path == ("二、重点任务", "（一）加强统筹")


def test_short_sections_merge_upward_but_not_across_top_level_sections() -> None:
    text = (
        "一、总体要求\n（一）坚持统筹。加强协调。\n（二）坚持创新。鼓励探索。\n（三）坚持安全。守住底线。\n"
        "二、保障措施\n（一）加强组织领导。\n（二）强化资金保障。\n"
    )
    document = doc(text)
    passages = Chunker(min_chars=60, max_chars=500).split(document)
    check_offsets(document, passages)
    assert [p.section_path for p in passages] == [("一、总体要求",), ("二、保障措施",)]
    assert "（三）坚持安全" in passages[0].text and "（一）加强组织领导" in passages[1].text


def test_long_section_is_split_at_sentence_ends() -> None:
    sentences = [f"第{i}项措施要求各区加强数据资源统筹管理和安全保障工作{'。！？；'[i % 4]}" for i in range(1, 41)]
    text = "一、重点任务\n" + "".join(sentences) + "\n"
    document = doc(text)
    chunker = Chunker(min_chars=60, max_chars=200)
    passages = chunker.split(document)
    check_offsets(document, passages)
    assert len(passages) > 3
    for p in passages:
        assert len(p.text) <= chunker.max_chars
        assert p.section_path == ("一、重点任务",)
        assert p.text[-1] in "。！？；"
    body = "".join(p.text for p in passages)
    assert all(s in body for s in sentences)


def test_sentence_longer_than_max_chars_is_cut() -> None:
    text = "一、说明\n" + "数据要素、算力设施、人工智能，" * 60 + "。\n"
    document = doc(text)
    chunker = Chunker(min_chars=50, max_chars=120)
    passages = chunker.split(document)
    check_offsets(document, passages)
    assert all(len(p.text) <= 120 for p in passages)
    assert sum(len(p.text) for p in passages) >= len(text.strip()) - len(passages) * 2


@pytest.mark.parametrize("seed", range(3))
def test_random_documents_keep_every_rule(seed: int) -> None:
    """Randomised: offsets exact, no empty passage, no passage over max_chars, no two articles in one."""
    rng = random.Random(seed)
    headings = ["一、总体要求", "（一）加强统筹。", "1.", "（1）", "附件1：分工表", "第三章 保障", "## 说明"]
    for trial in range(60):
        lines = []
        article = 0
        for _ in range(rng.randint(1, 25)):
            kind = rng.random()
            body = "数据要素市场建设" * rng.choice([0, 1, 5, 20, 60]) + rng.choice(["。", "；", "，", "！", ""])
            if kind < 0.3:
                article += 1
                lines.append(f"第{article}条 {body}")
            elif kind < 0.6:
                lines.append(rng.choice(headings) + body)
            else:
                lines.append(body)
            if rng.random() < 0.2:
                lines.append("")
        text = "\n".join(lines) + rng.choice(["", "\n", "\n\n"])
        chunker = Chunker(min_chars=rng.choice([20, 60, 120]), max_chars=rng.choice([150, 300, 500]))
        document = doc(text)
        passages = chunker.split(document)
        check_offsets(document, passages)
        for p in passages:
            assert len(p.text) <= chunker.max_chars
            assert len(re.findall(r"(?m)^第\d+条", p.text)) <= 1


def test_policy_chunker_is_a_llama_index_node_parser() -> None:
    from llama_index.core import Document

    nodes = PolicyChunker(min_chars=40, max_chars=200).get_nodes_from_documents([Document(text=LAW)])
    assert any(n.metadata["section_path"] == ["第二章 管理", "第十二条"] for n in nodes)
    assert all(LAW[n.start_char_idx:n.end_char_idx] == n.get_content() for n in nodes)


# -- metadata --------------------------------------------------------------------------------

NOTICE = """北京市大数据局关于印发《北京市公共数据开放管理办法》的通知

京政数发〔2025〕12号

各区人民政府，市政府各委、办、局：
现将《北京市公共数据开放管理办法》印发给你们，请认真贯彻落实。
本办法自2024年1月1日起施行，有效期5年。

北京市大数据局
2023年12月15日
"""


def test_metadata_read_off_the_text() -> None:
    meta = read_metadata(NOTICE, {}, fallback_title="x")
    assert meta.title == "北京市大数据局关于印发《北京市公共数据开放管理办法》的通知"
    assert meta.doc_number == "京政数发〔2025〕12号"
    assert meta.date == "2023-12-15"
    assert meta.effective_date == "2024-01-01"
    assert meta.expiry_date == "2028-12-31"  # five years: the day before the fifth anniversary
    assert meta.issuer == "北京市大数据局"
    assert meta.region == "北京市"
    assert meta.kind == "管理办法"  # the 通知 transmits the 办法
    assert meta.in_force(date(2028, 12, 31))
    assert not meta.in_force(date(2029, 1, 1))


def test_metadata_expired_document_and_chinese_numeral_dates() -> None:
    text = (
        "关于做好2019年公共数据工作的通知\n各单位：\n本通知自二〇一九年三月一日起施行，有效期3年。\n"
        "北京市经济和信息化局\n二〇一九年二月二十日\n"
    )
    meta = read_metadata(text, {}, fallback_title="x")
    assert meta.date == "2019-02-20"
    assert meta.effective_date == "2019-03-01"
    assert meta.expiry_date == "2022-02-28"
    assert meta.issuer == "北京市经济和信息化局"
    assert meta.kind == "通知"
    assert meta.in_force() is False


def test_metadata_expiry_until_and_repeal_marks() -> None:
    meta = read_metadata("关于试点工作的通知\n本通知有效期至2025年12月31日。\n", {}, "x")
    assert meta.expiry_date == "2025-12-31"
    assert meta.in_force(date(2025, 12, 31)) and not meta.in_force(date(2026, 1, 1))
    ranged = read_metadata("关于税收政策的通知\n四、本通知的执行期限为2014年1月1日至2016年12月31日。\n", {}, "x")
    assert (ranged.effective_date, ranged.expiry_date) == ("2014-01-01", "2016-12-31")
    until = read_metadata("关于企业改制重组土地增值税政策的通知\n三、本通知自2018年1月1日起至2020年12月31日止执行。\n", {}, "x")
    assert (until.effective_date, until.expiry_date) == ("2018-01-01", "2020-12-31")
    # The validity of the rule a document replaces is not its own.
    replacing = read_metadata("关于地下空间开发利用的管理办法\n原《管理办法（试行）》（有效期2016年9月16日至2018年9月15日）"
                              "已到期，现制定本办法。\n", {}, "x")
    assert replacing.expiry_date == "" and replacing.in_force()
    repealed = read_metadata("关于试点工作的通知\n本通知现予废止。\n", {}, "x")
    assert repealed.repealed and not repealed.in_force()
    assert read_metadata("正文。", {"status": "废止"}, "x").repealed


def test_front_matter_wins_field_by_field() -> None:
    raw = (
        "---\ntitle: 前置标题\ndoc_number: 京政发〔2020〕4号\ndate: 2024\nregion: 天津市\n---\n"
        + NOTICE
    )
    body, fields = split_front_matter(raw)
    assert body == NOTICE
    meta = read_metadata(body, fields, fallback_title="x")
    assert meta.title == "前置标题"
    assert meta.doc_number == "京政发〔2020〕4号"
    assert meta.date == "2024"  # a partial date stays partial
    assert meta.region == "天津市"
    assert meta.effective_date == "2024-01-01"  # not in the front matter: read off the text
    # an explicitly empty doc_number means "none", not "guess one"
    assert read_metadata(body, {"doc_number": ""}, "x").doc_number == ""


def test_partial_dates() -> None:
    assert to_iso_date("2024") == "2024"
    assert to_iso_date(2024) == "2024"
    assert to_iso_date("2024-5") == "2024-05"
    assert to_iso_date("2024年5月1日") == "2024-05-01"
    assert to_iso_date(date(2024, 5, 1)) == "2024-05-01"
    assert to_iso_date("二〇二四年五月一日") == "2024-05-01"
    assert to_iso_date("不详") == ""
    meta = DocumentMeta(expiry_date="2024")
    assert meta.in_force(date(2024, 12, 31)) and not meta.in_force(date(2025, 1, 1))


def test_bad_front_matter_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid YAML"):
        split_front_matter("---\ntitle: [unclosed\n---\n正文\n")
    with pytest.raises(ValueError, match="mapping"):
        split_front_matter("---\n- a\n- b\n---\n正文\n")
    assert split_front_matter("没有前置信息的正文\n") == ("没有前置信息的正文\n", {})


def test_load_document_without_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "notice.md"
    path.write_text(NOTICE, encoding="utf-8")
    document = load_document(SourceFile(path, "notice.md"))
    assert document.meta.doc_number == "京政数发〔2025〕12号"
    assert document.meta.title.startswith("北京市大数据局关于")
    assert document.text.strip() == NOTICE.strip()
    assert document.file_hash and document.doc_id == SourceFile(path, "notice.md").doc_id


# -- the seed document -----------------------------------------------------------------------


def test_seed_passages_carry_its_five_question_headings(seed_document: Path) -> None:
    document = load_document(SourceFile(seed_document, seed_document.name))
    passages = Chunker().split(document)
    check_offsets(document, passages)
    assert all(p.section_path for p in passages)
    firsts = {p.section_path[0] for p in passages}
    assert len(firsts) == 5
    for number, first in zip("一二三四五", sorted(firsts, key=lambda f: "一二三四五".index(f[0]))):
        assert first.startswith(number + "、")
    questions = [line for line in document.text.splitlines() if re.match(r"^[一二三四五]、", line)]
    assert sorted(firsts) == sorted(questions)


# -- the shared corpus -----------------------------------------------------------------------

_CN = "一二三四五六七八九十百零〇"


@pytest.mark.slow
def test_shared_law_passages_end_in_the_right_article(shared_corpus: Path) -> None:
    path = shared_corpus / "bulk" / "dfxfg-shanghai-shsshljgltl-20190131.md"
    if not path.is_file():
        pytest.skip(f"{path} not in the shared corpus")
    document = load_document(SourceFile(path, "bulk/" + path.name))
    passages = Chunker().split(document)
    check_offsets(document, passages)
    # (the article's opening words as they stand in the file, the article's label)
    articles = re.findall(rf"(?m)^((第[{_CN}]+条)[ \u3000]+\S{{12,24}})", document.text)
    assert len(articles) > 20
    for opening, label in [articles[0], articles[len(articles) // 3], articles[-1]]:
        holders = [p for p in passages if opening in p.text]
        assert len(holders) == 1, f"{len(holders)} passages hold the start of {label}"
        assert holders[0].section_path[-1] == label
    # every article start lies in a passage cited by that article
    for opening, label in articles:
        assert [p.section_path[-1] for p in passages if opening in p.text] == [label]
    article_passages = [p for p in passages if re.match(rf"^第[{_CN}]+条", p.section_path[-1] if p.section_path else "")]
    assert len(article_passages) >= len(articles)


@pytest.mark.slow
def test_shared_pdf_passages_have_page_numbers(shared_corpus: Path) -> None:
    path = shared_corpus / "pdf" / "bj-industrial-policy-guide-2024.pdf"
    if not path.is_file():
        pytest.skip(f"{path} not in the shared corpus")
    document = load_document(SourceFile(path, "pdf/" + path.name))
    assert document.page_starts and len(document.page_starts) == 331
    passages = Chunker().split(document)
    assert len(passages) > 100
    check_offsets(document, passages)
    firsts = []
    for p in passages:
        assert p.pages, f"passage {p.ordinal} has no pages"
        assert all(1 <= n <= 331 for n in p.pages)
        assert p.pages == sorted(p.pages)
        firsts.append(p.pages[0])
    assert firsts == sorted(firsts)
    assert passages[-1].pages[-1] > 300


# The State Council's template of a 政府信息公开工作年度报告: a reference to the regulation's article
# heads each table, and the table's rows are numbered like headings.
ANNUAL_REPORT = """一、总体情况

（一）主动公开情况。全年主动公开政府信息 1136 条。

二、主动公开政府信息情况

第二十条第（一）项

信息内容 本年制发件数 本年废止件数 现行有效件数

规章 0 0 0

三、收到和处理政府信息公开申请情况

一、本年新收政府信息公开申请数量 95 0 0 0 0 0 95

（一）予以公开 50 0 0 0 0 0 50

四、政府信息公开行政复议、行政诉讼情况

五、存在的主要问题及改进情况

依申请公开工作规范性还有待提高。
"""


def test_a_reference_to_an_article_and_a_table_row_are_not_headings() -> None:
    paths = [s.path for s in parse_sections(ANNUAL_REPORT)]
    assert not any(s.is_article for s in parse_sections(ANNUAL_REPORT))
    # The report's own sections follow the tables, not inside an article or under a table row.
    assert ("五、存在的主要问题及改进情况",) in paths and ("四、政府信息公开行政复议、行政诉讼情况",) in paths
    assert not any("95" in label or "50" in label for path in paths for label in path)
    assert [p for p in paths if p and p[0].startswith("三、")] == [("三、收到和处理政府信息公开申请情况",)]
    # An article whose text starts at once is still one.
    assert classify("第二十条第（一）项") is None and classify("第二十条第一款") is None
    assert classify("第二十条 本条例自2024年1月1日起施行。") == Heading(RANK_ARTICLE, "第二十条", is_article=True)
