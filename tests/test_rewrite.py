"""Follow-up questions: which ones lean on the conversation, and what is carried over."""

from __future__ import annotations

from assistant.rewrite import is_follow_up, standalone_query

HISTORY = [{"role": "user", "content": "广州公租房怎么申请？"}, {"role": "assistant", "content": "……"}]


def places(text: str) -> set[str]:
    return {p for p in ("广州", "北京", "河北") if p in text}


def test_a_follow_up_that_leans_back_carries_the_previous_terms() -> None:
    query = standalone_query("那申请材料要哪些？", HISTORY, places)
    assert query.endswith("那申请材料要哪些？")
    carried = query[: -len("那申请材料要哪些？")].split()
    assert "广州" in carried and "公租房" in carried


def test_a_question_without_place_after_one_with_a_place_is_a_follow_up() -> None:
    question = "我妈是职工医保退休的，住进定点护理机构，生活照料费一天最多按多少算？"
    history = [{"role": "user", "content": "广州的长期护理保险，个人需要交钱吗？"}]
    assert is_follow_up(question, history, places)
    assert "广州" in standalone_query(question, history, places)


def test_a_question_that_names_its_own_document_or_place_stands_alone() -> None:
    history = [{"role": "user", "content": "河北省在优化算力布局方面提出了哪些意见?"}]
    for question in ("《意见》对推动人工智能产业创新发展提出了哪些保障措施?", "北京的公共数据资源登记由哪家单位受理？"):
        assert not is_follow_up(question, history, places)
        assert standalone_query(question, history, places) == question


def test_short_questions_and_empty_history() -> None:
    assert is_follow_up("要多少钱？", HISTORY, places)
    assert standalone_query("要多少钱？", [], places) == "要多少钱？"


def test_a_follow_up_about_another_place_carries_the_topic_not_the_old_place() -> None:
    query = standalone_query("那北京呢？", HISTORY, places)
    carried = query[: -len("那北京呢？")].split()
    assert "公租房" in carried and "广州" not in carried


def test_a_follow_up_asking_a_thing_of_its_own_carries_the_topic_not_what_was_asked() -> None:
    history = [{"role": "user", "content": "广州公租房申请条件是什么？"}]
    carried = standalone_query("那申请材料要哪些？", history, places).split()[:-1]
    assert "公租房" in carried and "广州" in carried and "条件" not in carried
    carried = standalone_query("那能领多少钱？", [{"role": "user", "content": "广州失业保险金能领多久？"}], places).split()[:-1]
    assert "失业保险金" in carried and "多久" not in carried
    # Asked in words the segmenter cuts up: 几家 and 时候 of "哪几家……什么时候……" are not carried.
    earlier = [{"role": "user", "content": "京津冀资质资格互认清单（第一批）是哪几家单位发的？什么时候发的？"}]
    carried = standalone_query("那备案生效的资质，到北京备案要等多久？", earlier, places).split()[:-1]
    assert "京津冀" in carried and "第一批" in carried
    assert not {"几家", "时候", "什么时候"} & set(carried)
    # Nor is what was asked for last time: the materials are not how long it takes.
    asked = [{"role": "user", "content": "广州失业保险金怎么申领"}, {"role": "user", "content": "需要带什么材料"}]
    carried = standalone_query("多久能到账？", asked, places).split()[:-1]
    assert "失业保险金" in carried and "材料" not in carried
    # "那上海呢？" asks nothing of its own: it asks the same again, conditions and all.
    assert "条件" in standalone_query("那上海呢？", [{"role": "user", "content": "北京献血的条件是什么？"}], places)


def test_a_follow_up_keeps_the_document_named_before_and_asks_its_own_article() -> None:
    history = [{"role": "user", "content": "《广州市公共租赁住房管理办法》第二十二条怎么规定的？"}]
    query = standalone_query("那第二十五条呢？", history, places)
    assert query.startswith("《广州市公共租赁住房管理办法》") and "第二十二条" not in query
    by_number = standalone_query("那第二十五条呢？", [{"role": "user", "content": "穗府办规〔2024〕13号第二十二条怎么规定的？"}])
    assert "穗府办规〔2024〕13号" in by_number and "第二十二条" not in by_number
