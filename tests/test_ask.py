"""Asking over a small index of documents written here: what the assistant answers, from which
document and clause, and when it refuses.

Each rule is checked against a question it must change and a near twin it must leave alone (a
refusal rule against a question it must refuse and one it must answer), so that a rule that
fires everywhere fails as surely as one that never fires.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import settings_for

from assistant import retrieve
from assistant.answer import book_title, evidence_strength, inner_headings, page_label, refusal_text
from assistant.departments import asks_elsewhere, responsible_department
from assistant.ingest import Ingestor
from assistant.literals import words_pattern
from assistant.pipeline import PolicyAssistant
from assistant.places import places_of
from assistant.relevance import (
    ASKS_PENALTY,
    QUESTION_WORDS,
    QueryTerms,
    SentenceScorer,
    asked_kinds,
    asks_beyond_quantity,
    issue_years,
    named_editions,
    named_years,
    split_sentences,
    stated_thresholds,
    states_contact,
    states_quantity,
    states_time,
    title_years,
    wh_part,
    wraps_document,
)
from assistant.synonyms import expansions, thesaurus
from assistant.tokenize import Tokenizer


def front(title: str, issuer: str, region: str, date: str) -> str:
    return f'---\ntitle: "{title}"\nissuer: "{issuer}"\ndate: "{date}"\nregion: "{region}"\n---\n\n'


DOCUMENTS = {
    "zz-dog.md": front("郑州市养犬管理条例", "郑州市人民代表大会常务委员会", "河南省郑州市", "2022-01-01")
    + "第十条 养犬人应当每年缴纳犬只管理服务费，每只犬每年二百元。\n\n"
    "第十八条 携犬出户时，应当束犬链，犬链全长不得超过1.5米。\n",
    "bj-dog.md": front("北京市养犬管理规定", "北京市人民代表大会常务委员会", "北京市", "2003-09-05")
    + "第十三条 养犬应当缴纳管理服务费。重点管理区内每只犬第一年为1000元，以后每年度为500元。"
    "对养绝育犬的或者生活困难的鳏寡老人养犬的，减半收取第一年管理服务费。\n\n"
    "第十七条 携犬出户时，应当对犬束犬链，由成年人牵领。\n",
    "certificates.md": front("某市关于公布取消一批证明事项的通知", "某市人民政府办公室", "某市", "2022-06-01")
    + "一、现将《某市取消证明目录（2022年版）》印发给你们，请遵照执行。\n\n"
    "二、各部门不得再向企业和群众索要已取消的证明，确需核验的，通过部门间数据共享核验。\n",
    "invoice.md": front("关于新办纳税人首次申领增值税发票有关事项的公告", "国家税务总局", "全国", "2018-06-01")
    + "一、税务机关为首次申领增值税发票的新办纳税人办理发票票种核定，增值税专用发票最高开票限额不超过10万元，"
    "每月最高领用数量不超过25份。\n\n二、主管税务机关应当自受理申请之日起2个工作日内办结。\n",
    "national-jobs.md": front("国务院关于做好当前和今后一个时期促进就业工作的若干意见", "国务院", "全国", "2018-11-16")
    + "一、对不裁员或少裁员的参保企业，可返还其上年度实际缴纳失业保险费的50%。\n",
    "zz-jobs.md": front("郑州市促进就业工作实施办法", "郑州市人民政府", "河南省郑州市", "2019-03-01")
    + "一、对不裁员或少裁员的参保企业，返还其上年度失业保险缴费总额的50%；对去产能企业，返还70%。\n",
    "talent.md": front("某市引进人才入户管理办法", "某市人力资源和社会保障局", "某市", "2020-07-01")
    + "第三条 引进人才入户，申请人应当具有硕士研究生学历或者博士研究生学历，并在本市就业或者创业。\n\n"
    "第五条 引进人才入户，具有本科学历的，年龄需在35周岁以下；具有硕士研究生学历的，年龄需在45周岁以下。\n",
    "unemployment.md": front("某市失业保险办法", "某市人民政府", "某市", "2021-01-01")
    + "第八条 失业人员被辞退的，可以申领失业保险金。\n\n"
    "第九条 失业人员申领失业保险金，失业前所在单位和本人应当累计缴纳失业保险费满1年。\n",
    "internship.md": front("某市就业见习基地管理办法", "某市人力资源和社会保障局", "某市", "2019-10-09")
    + "第二条 本办法所指就业见习人员是指离校未就业（毕业2年内）高校毕业生和16-24岁失业青年。\n\n"
    "第六条 申请参加就业见习的，向见习基地提交《就业见习申请表》和毕业证书复印件。\n",
    "parking-notice.md": front("某市人民政府关于印发某市停车管理办法的通知", "某市人民政府", "某市", "2023-05-01")
    + "各区人民政府：\n\n《某市停车管理办法》已经市政府同意，现印发给你们，请认真贯彻执行。\n\n某市人民政府\n\n"
    "2023年5月1日\n\n第一条 为了规范停车管理，结合本市实际，制定本办法。\n\n"
    "第十一条 停车人应当在离开停车泊位后三十日内补缴停车费。\n\n"
    "第十二条 逾期未补缴停车费的，由交通管理部门处一百元罚款。\n\n"
    "第十三条 车辆不得长时间占用道路停车泊位，影响其他车辆停放。\n",
    "jinan-traffic.md": front("济南市道路交通安全条例", "济南市人民代表大会常务委员会", "山东省", "2015-04-01")
    + "第四十条 乘坐家庭乘用车时，未满十周岁未成年人应当坐后排座椅，未满四周岁儿童应当使用儿童安全座椅。\n",
    "liaocheng-traffic.md": front("聊城市道路交通安全条例", "聊城市人民代表大会常务委员会", "山东省", "2018-01-01")
    + "第四十六条 未满十二周岁的未成年人乘车，不得安排其乘坐前排座椅，应当使用儿童安全座椅。\n",
    # One notice twice, as a web page and as a printed copy whose layout put spaces between the words.
    "trees-web.md": front("某市古树名木保护办法", "某市园林绿化局", "某市", "2022-03-01")
    + "第六条 古树名木养护补助标准为每株每年五百元。\n",
    "trees-print.md": front("某市古树名木保护办法（印发稿）", "某市园林绿化局", "某市", "2022-03-01")
    + "第六条 古树名木养护补助标准为每株每年 五百 元。\n",
    "wz-ads.md": front("温州市户外广告设施管理条例", "温州市人民代表大会常务委员会", "浙江省温州市", "2020-01-01")
    + "第十七条 大型户外广告设施设置许可有效期最长不超过二年。\n",
    # A notice whose opening names its whole topic: the clause that answers must outrank it.
    "holidays.md": front("国务院办公厅关于2031年部分节假日安排的通知", "国务院办公厅", "全国", "2030-11-20")
    + "国务院办公厅关于2031年部分节假日安排的通知\n\n国办发明电〔2030〕9号\n\n"
    "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：\n\n"
    "经国务院批准，现将2031年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。\n\n"
    "一、元旦：1月1日放假，与周末连休。\n\n"
    "二、春节：1月22日至28日放假调休，共7天。1月19日（星期日）、2月8日（星期六）上班。\n\n"
    "七、国庆节：10月1日至7日放假调休，共7天。9月28日（星期日）、10月11日（星期六）上班。\n\n"
    "节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作。\n\n国务院办公厅\n\n2030年11月20日\n",
    "cases.md": front("某区关于征集数字经济典型案例的通知", "某区数据局", "某区", "2031-02-08")
    + "一、入选案例将在全区推广，并推荐参加全国典型案例评选。\n\n"
    "二、申报单位请于2031年3月11日前报送典型案例申报书，篇幅控制在3000字以内。\n",
    "drills.md": front("某市防震减灾条例", "某市人民代表大会常务委员会", "某市", "2010-10-12")
    + "第二十三条 学校应当将防震减灾知识作为学生安全教育的内容，每学年组织开展地震紧急疏散演练活动。\n",
    "hiring.md": front("某市关于做好今年企业用工服务的通知", "某市人力资源和社会保障局", "某市", "2031-03-01")
    + "一、各公司要准备好今年的用工计划，一直没有签订劳动合同的，应当及时签订。\n",
    "data-service.md": front("某市数据服务管理办法", "某市数据局", "某市", "2031-05-01")
    + "第二条 利用数据技术向本市公众提供数据服务的，适用本办法。\n\n"
    "第九条 数据服务提供者应当在服务上线前完成数据安全评估，并向市数据局备案。\n\n"
    "第十二条 数据服务提供者应当建立投诉举报机制，及时处理公众的投诉举报。\n\n"
    "第十五条 数据服务提供者应当加强内部管理，及时向公众公开平台服务规则。\n",
    # A relief for a stated period: the validity is read off the text, not given in the front matter.
    "veterans-tax.md": front("关于扶持退役士兵创业就业有关税收政策的通知", "某市税务局", "某市", "2030-04-29")
    + "一、对退役士兵从事个体经营的，在3年内按每户每年8000元为限额依次扣减其当年实际应缴纳的税款。\n\n"
    "二、本通知的执行期限为2030年1月1日至2032年12月31日。\n",
    "report-2023.md": front("某区2023年政府信息公开工作年度报告", "某区人民政府办公室", "某区", "2024-01-20")
    + "一、总体情况\n\n本年度全区受理申请 21 件，均在法定期限内答复。"
    "全年在政府网站主动公开政府信息 1136 条。\n",
    "report-2024.md": front("某区2024年政府信息公开工作年度报告", "某区人民政府办公室", "某区", "2025-01-20")
    + "一、总体情况\n\n本年度全区受理政府信息公开申请 17 件，政府信息公开申请均在法定期限内答复。"
    "全年在政府网站主动公开政府信息 1250 条。\n",
}


def assistant_over(folder: Path, documents: dict[str, str]) -> PolicyAssistant:
    """An assistant over ``documents`` (file name -> text), their corpus and index built in ``folder``."""
    corpus = folder / "corpus"
    corpus.mkdir()
    for name, text in documents.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = settings_for(folder)
    summary = Ingestor(settings, progress=False, workers=1).run([corpus])
    assert summary.failed == [] and summary.added == len(documents)
    return PolicyAssistant.from_settings(settings)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> PolicyAssistant:
    return assistant_over(tmp_path_factory.mktemp("ask"), DOCUMENTS)


def sources(answer) -> list[str]:  # noqa: ANN001 - an Answer
    return [hit.document.source for _, hit in answer.citations]


def test_a_city_no_document_covers_is_refused_not_answered_from_another_city(assistant: PolicyAssistant) -> None:
    hangzhou = assistant.ask("杭州养狗一年要交多少钱？")
    assert hangzhou.refused and not hangzhou.citations
    assert hangzhou.answer.startswith("知识库中没有杭州的相关文件")
    # The nearest rules are named as another place's, and the asker is sent to Hangzhou's departments.
    assert "《北京市养犬管理规定》" in hangzhou.answer or "《郑州市养犬管理条例》" in hangzhou.answer
    assert "不适用于杭州" in hangzhou.answer and "杭州当地的主管部门" in hangzhou.answer
    assert "人民代表大会常务委员会" not in hangzhou.answer

    zhengzhou = assistant.ask("郑州养狗一年要交多少钱？")
    assert not zhengzhou.refused
    assert sources(zhengzhou)[0] == "zz-dog.md"
    assert "二百元" in zhengzhou.answer


DISTRICTS = {
    "tianhe.md": front("广州市天河区教育局关于印发2031年天河区幼儿园招生工作方案的通知", "广州市天河区教育局",
                       "广东省广州市", "2031-04-01")
    + "一、招生比例：教育部门办幼儿园面向社会电脑派位招生的比例为90%。\n\n二、报名时间：5月19日至5月22日网上报名。\n",
    "gz.md": front("广州市养犬管理条例", "广州市人民代表大会常务委员会", "广东省广州市", "2031-01-01")
    + "第十条 养犬人应当为犬只办理养犬登记，每只犬每年缴纳管理服务费五百元。\n",
}


def test_a_districts_rules_do_not_answer_for_another_district(tmp_path: Path) -> None:
    districts = assistant_over(tmp_path, DISTRICTS)
    # 海珠区 lies in 广州 as 天河区 does, but 天河's enrolment plan is not 海珠's.
    haizhu = districts.ask("海珠区公办幼儿园电脑派位的比例是多少？")
    assert haizhu.refused and haizhu.answer.startswith("知识库中没有海珠区的相关文件")
    assert "不适用于海珠区" in haizhu.answer
    tianhe = districts.ask("天河区公办幼儿园电脑派位的比例是多少？")
    assert not tianhe.refused and "90%" in tianhe.answer
    # The city's own rules do apply in each of its districts.
    dog = districts.ask("住在海珠区，养狗每年交多少管理服务费？")
    assert not dog.refused and "五百元" in dog.answer
    # 区域 and 县域 are words, not the districts 河西区 or 某县.
    gazetteer = districts.retriever.gazetteer
    assert gazetteer.places_in("河西区域的企业") == set()
    # Every division lies in its city and province, named as the cities list names them.
    assert {"凯里", "黔东南", "贵州"} <= gazetteer.places_in("凯里市的公租房")
    assert "青海" in gazetteer.places_in("共和县的牧民") and "海南" not in gazetteer.places_in("共和县的牧民")


def test_an_award_asked_for_needs_a_sum_stated(assistant: PolicyAssistant) -> None:
    # The notice asks for 3000 characters by a date, and never names a sum for the chosen cases.
    award = assistant.ask("某区的案例入选了典型案例，政府会给多少奖励资金？")
    assert award.refused
    deadline = assistant.ask("某区典型案例的申报书最晚哪天交？")
    assert not deadline.refused and "3月11日" in deadline.answer


def test_a_count_in_its_own_unit_needs_that_unit_stated(assistant: PolicyAssistant) -> None:
    # The notice names its 2022 list but never says how many certificates it cancels.
    count = assistant.ask("2022年版的取消证明目录一共取消了多少项证明？")
    assert count.refused
    rule = assistant.ask("已经取消的证明，部门还能再向群众索要吗？")
    assert not rule.refused
    assert sources(rule)[0] == "certificates.md" and "不得再向企业和群众索要" in rule.answer


def test_how_often_is_stated_by_a_period_without_a_number(assistant: PolicyAssistant) -> None:
    often = assistant.ask("孩子在某市上学，学校多久得组织一次地震疏散演练？")
    assert not often.refused and "每学年" in often.answer
    # A length asked for is still a number the clause does not state.
    assert assistant.ask("某市学校的地震疏散演练每次要搞多少分钟？").refused
    frequency = states_quantity("多久组织一次演练？")
    assert frequency is not None and frequency.search("每学年组织开展") and frequency.search("每2年检查1次")
    assert not frequency.search("组织开展地震紧急疏散演练活动")


def test_states_quantity_reads_the_unit_asked_for() -> None:
    items = states_quantity("一共取消了多少项证明？")
    assert items is not None
    assert items.search("本次共取消证明事项12项") and items.search("取消十二项证明")
    assert not items.search("2022年版目录") and not items.search("依照第三项规定")
    money = states_quantity("养狗一年要交多少钱？")
    assert money is not None and money.search("每年二百元") and not money.search("每年缴纳一次")
    people = states_quantity("招收多少人？")
    assert people is not None and people.search("招收20名")
    fee = states_quantity("社保卡补办要交多少工本费？")  # a fee is an amount of money
    assert fee is not None and fee.search("工本费20元") and not fee.search("16周岁以上的申领人")
    late = states_quantity("停车费多少天内要补缴？")  # how long, though it names a fee
    assert late is not None and late.search("三十日内补缴停车费")
    working_days = states_quantity("几个工作日能办结？")  # answered by days as well
    assert working_days is not None and working_days.search("十五日内办结") and not working_days.search("第三条")
    award = states_quantity("案例入选了，政府会给多少奖励资金？")  # so is an award, or a subsidy
    assert award is not None and award.search("给予最高50万元奖励") and award.search("按投资额的30%给予补助")
    assert not award.search("2024年3月11日前报送3000字以内的申报书")
    share = states_quantity("长者饭堂吃饭，就餐补贴能补多少？")
    assert share is not None and share.search("每次就餐费用的四分之一") and not share.search("60周岁以上的老年人")
    both = states_quantity("受理了多少件申请？公开了多少条信息？")
    assert both is not None and both.search("受理申请 21 件") and both.search("公开信息 1136 条")
    assert not both.search("依照第十二条规定") and not both.search("第三十件")  # ordinals count nothing
    generic = states_quantity("初始额度是多少？")
    assert generic is not None and generic.search("不超过10万元")
    # Measures too: a setback in 米, a training load in 学时, an age in (周)岁.
    metres = states_quantity("县道边上盖房，离路多少米以内不让建？")
    assert metres is not None and metres.search("国道20米，县道10米") and not metres.search("技术等级不得低于四级标准")
    hours = states_quantity("单位每年至少得让我参加多少个学时的继续教育？")
    assert hours is not None and hours.search("累计不少于８０学时") and not hours.search("每年脱产培训不少于5天")
    age = states_quantity("报名年龄最大是多少岁？")
    assert age is not None and age.search("年龄在45周岁以下") and not age.search("自2020年1月1日起报名")
    # ... but the 分 of 分公司 is no unit (points are): only the deadline asked for is read.
    branches = states_quantity("注销要多长时间？底下还有几个分公司")
    assert branches is not None and branches.search("自清算结束之日起30日内")
    assert states_quantity("怎么申请？") is None
    assert states_quantity("生活垃圾分几类？") is None  # answered by naming the kinds as much as by a count


def test_a_policy_term_no_document_uses_weakens_the_evidence(assistant: PolicyAssistant) -> None:
    # 数电发票 is in the policy-term dictionary, and no document here mentions it.
    _, _, missing = assistant.retrieve("新办企业第一次开数电发票，系统给的初始开票额度是多少？")
    _, _, present = assistant.retrieve("新办企业第一次开增值税发票，系统给的初始开票额度是多少？")
    assert 0 < missing <= 0.5 * present
    vat = assistant.ask("新办企业第一次开增值税发票，系统给的初始开票额度是多少？")
    assert not vat.refused and "10万元" in vat.answer


# The 2024 report words its sentence closer to the question; only the year in the title can tell.
@pytest.mark.parametrize(("year", "count"), [("2023", "21 件"), ("2024", "17 件")])
def test_the_year_a_question_names_picks_that_years_report(assistant: PolicyAssistant, year: str,
                                                           count: str) -> None:
    answer = assistant.ask(f"某区{year}年受理了多少件政府信息公开申请？")
    assert not answer.refused
    assert answer.passages[0].document.source == f"report-{year}.md"
    assert count in answer.answer


def test_an_answer_quotes_more_of_the_clause_it_cites(assistant: PolicyAssistant) -> None:
    question = "在北京养狗，第一年要交多少钱？"
    answer = assistant.ask(question)
    assert not answer.refused
    assert sources(answer) == ["bj-dog.md"]  # not Zhengzhou's fee, however well its words match
    assert "1000元" in answer.answer
    # Only the best sentence passes a strict threshold; the clause's next-best sentence comes along
    # without a new citation, the unrelated one does not.
    evidence = assistant.in_place(question, answer.passages)
    strict = replace(assistant.extractive, min_relative=0.9, same_passage_extra=0).answer(question, evidence)
    fuller = replace(assistant.extractive, min_relative=0.9).answer(question, evidence)
    assert [h.passage.id for _, h in fuller.citations] == [h.passage.id for _, h in strict.citations]
    assert "减半收取第一年管理服务费" not in strict.answer
    assert "减半收取第一年管理服务费" in fuller.answer and "养犬应当缴纳管理服务费" not in fuller.answer


def test_a_trie_pattern_finds_what_an_alternation_of_its_words_finds() -> None:
    words = ["养狗", "养狗绳", "狗", "养犬", "海珠区", "海珠", "广州", "广州市", "州市", "a.b"]
    alternation = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
    trie = words_pattern(words)
    for text in ("我想养狗绳", "在广州市海珠区养狗", "养犬养狗狗", "州市", "a.b axb", "无关的话"):
        assert trie.findall(text) == alternation.findall(text), text
    assert trie.findall("广州市海珠区") == ["广州市", "海珠区"]  # the longest word at each position
    assert words_pattern([]).findall("广州") == []


def test_spoken_words_meet_the_documents_words(assistant: PolicyAssistant) -> None:
    assert expansions("我想养狗") == [("养狗", ("养犬",))]  # the longest spoken word, not 狗 inside it
    # A spoken word read across two words is not there: "出租房屋" is 出租 房屋, not 租房.
    assert expansions("我想租房") == [("租房", ("租赁", "承租"))] and expansions("个人出租房屋要交哪些税") == []
    assert [w for w, _ in expansions("在北京带狗出门")] == ["狗"]  # 带狗 is one word, ending in 狗
    terms = QueryTerms(assistant.index, Tokenizer(), "遛狗的绳子有多长？")
    assert terms.coverage("携犬出户时，应当束犬链") == pytest.approx(1.0)
    assert 0 < terms.coverage("犬只死亡的，应当深埋") < 1
    # The leash goes by many names in the rules: 犬链, 束犬链, 束犬绳, 牵引带.
    for spoken in ("狗绳", "绳子", "牵引绳"):
        assert {"犬链", "束犬链", "束犬绳", "牵引带"} <= set(thesaurus()[spoken]), spoken
    assert "驾驶经历" in thesaurus()["驾龄"]  # "驾龄两年" against "具有3年以上驾驶经历"
    # Shanghai's rules call a shop's stored-value card 单用途卡, and moving the shop 经营场所迁移.
    for spoken in ("会员卡", "储值卡", "充值卡"):
        assert "单用途卡" in thesaurus()[spoken], spoken
    assert "经营场所迁移" in thesaurus()["搬店"]
    assert "旅店业" in thesaurus()["酒店"] and "届满" in thesaurus()["到期"]  # 旅店业和饮食业纳税人; 有效期届满
    # "刚买了辆电动车" against "自购买之日起"; "买车" against "自购车之日起"; 社区医院 is a 基层医疗机构.
    assert ("买", ("购买", "购置")) in expansions("刚买了辆电动车")
    assert "购车" in thesaurus()["买车"] and "基层医疗机构" in thesaurus()["社区医院"]
    answer = assistant.ask("遛狗的绳子最长能多长？")
    assert not answer.refused
    assert sources(answer)[0] == "zz-dog.md" and "1.5米" in answer.answer


def test_a_place_compared_with_the_state_council_keeps_both_sides_in_view(assistant: PolicyAssistant) -> None:
    question = "国务院促进就业的若干意见和郑州市的实施办法，对不裁员企业返还失业保险费的比例一样吗？"
    retriever = assistant.retriever
    hits = retriever.search(question)
    national = next(h for h in hits if h.document.source == "national-jobs.md")
    assert national.document.meta.region == "national"  # front matter "全国" is the national region
    assert {h.document.source for h in hits[:2]} == {"national-jobs.md", "zz-jobs.md"}
    # Ranked last of all, the national side's only passage still moves into the first two places.
    last = [h for h in hits if h.document.meta.region != "national"] + [national]
    assert national in retriever.cover_places(question, last)[:2]
    alone = "郑州市的实施办法对不裁员企业返还失业保险费的比例是多少？"
    assert retriever.cover_places(alone, last)[-1] is national


def test_a_document_of_no_known_place_may_answer_a_question_naming_one(assistant: PolicyAssistant) -> None:
    # The certificates notice names no place ("某市"): it is not another city's rule, so it counts.
    answer = assistant.ask("在北京，部门还能再向群众索要已经取消的证明吗？")
    assert not answer.refused
    assert sources(answer)[0] == "certificates.md"


def test_someone_who_gives_their_age_gets_the_age_limit(assistant: PolicyAssistant) -> None:
    # Both articles are about 硕士 and 引进人才入户; only the one with the age limit answers "I am 43".
    answer = assistant.ask("我今年43岁，硕士毕业，还能走人才引进落户吗？")
    assert not answer.refused
    assert answer.passages[0].passage.text.startswith("第五条")
    assert "45周岁以下" in answer.answer


def test_a_stated_quantity_looks_for_the_threshold_in_its_unit(assistant: PolicyAssistant) -> None:
    six_years = stated_thresholds("我干了6年")
    assert any(p.search("累计缴费满15年") for p in six_years) and not any(p.search("2015年起施行") for p in six_years)
    assert stated_thresholds("我是2023年入职的") == []  # a date, not a duration
    assert stated_thresholds("我是二〇二三年入职的") == []  # ... in any numerals
    percent = stated_thresholds("港澳股东持股20％")
    assert percent[0].search("持股比例不低于30%") and not any(p.search("占30%") for p in percent)
    # Months meet a threshold in years ("打工才四个多月" against "居住半年以上"), and years one in months.
    assert any(p.search("在居住地居住半年以上") for p in stated_thresholds("来杭州打工才四个多月"))
    assert any(p.search("连续缴费满6个月") for p in stated_thresholds("我交了2年社保"))
    # A range counts when it holds the very number stated: 5口人 is in "4—6人", 62岁 is not in "0-6岁".
    household = stated_thresholds("我家5口人，选了货币安置")
    assert any(p.search("4—6人的6000元/户") for p in household)
    assert not any(p.search("按1—3人的4000元/户") for p in household)
    assert any(p.search("18—40周岁（含40周岁）") for p in stated_thresholds("我今年36岁"))
    assert not any(p.search("0-6岁残疾儿童") for p in stated_thresholds("我62岁"))
    assert any(p.search("0-6岁残疾儿童") for p in stated_thresholds("孩子4岁"))
    # A share stated in 成 is a percentage, and meets a threshold written as a fraction.
    share = stated_thresholds("合写的论文我写了大概六成")
    assert any(p.search("由市内作者完成二分之一以上篇幅") for p in share)
    assert any(p.search("占比50%—70%的") for p in share) and not any(p.search("占比10%—30%的") for p in share)
    assert stated_thresholds("跟成都一位学者合写") == [] and stated_thresholds("完成立项") == []
    # 第八条 names the asker's 辞退; 第九条 sets the threshold that the asker's 6年 meets.
    answer = assistant.ask("我交了6年失业保险，被公司辞退了，能申领失业保险金吗？")
    assert answer.passages[0].passage.text.startswith("第九条")


def test_who_qualifies_is_read_from_the_definition_in_the_askers_terms(assistant: PolicyAssistant) -> None:
    # 没找到工作 is 未就业; "毕业3年" meets the definition's "毕业2年内".
    answer = assistant.ask("毕业3年了还没找到工作，能去参加就业见习吗？")
    assert answer.passages[0].passage.text.startswith("第二条")
    assert "毕业2年内" in answer.answer


def test_covering_words_signatures_and_purpose_clauses_are_not_quoted(assistant: PolicyAssistant) -> None:
    question = "某市的停车管理办法规定，停车费多少天内要补缴？"
    answer = assistant.ask(question)
    assert not answer.refused and "三十日内补缴停车费" in answer.answer
    # Even an answerer that keeps every sentence of every passage never quotes them.
    everything = replace(assistant.extractive, min_relative=0.0, max_sentences=100, max_passages=100)
    quoted = [s.text for s in everything.answer(question, answer.passages).sentences]
    assert any("三十日内补缴停车费" in t for t in quoted)
    assert not any("印发给你们" in t or "制定本办法" in t or t in ("某市人民政府", "2023年5月1日") for t in quoted)
    why = assistant.ask("某市为什么要制定停车管理办法？")
    assert any("制定本办法" in s.text for s in why.sentences)  # asked why: the purpose is the answer


def test_a_notices_wrapping_is_told_from_what_it_says() -> None:
    title = "国务院办公厅关于2031年部分节假日安排的通知"
    for wrapping in ("各省、自治区、直辖市人民政府，国务院各部委、各直属机构：", "国办发明电〔2030〕9号", title,
                     "经国务院批准，现将2031年元旦、春节和国庆节放假调休日期的具体安排通知如下。",
                     "《某市停车管理办法》已经市政府同意，现印发给你们，请认真贯彻执行。", "国务院办公厅", "2030年11月20日",
                     "附件：1.典型案例申报书", "现就推进工业用地改革工作，提出以下实施意见。", "## 第四章  工伤认定"):
        assert wraps_document(wrapping, title), wrapping
    for saying in ("具体要求如下：", "各区政府应当在每年3月底前报送上一年度的工作情况。",
                   "七、国庆节：10月1日至7日放假调休，共7天。", "申请人应当提交以下材料：",
                   "附件：专用号牌分为汽车号牌和摩托车号牌两种，汽车号牌每副两只。", "当事人可以提出以下异议：",
                   # The first item run on after the covering words is said, not wrapping.
                   "现将有关事项公告如下： 一、自2031年9月1日至2033年12月31日，对购置的新能源汽车免征车辆购置税。"):
        assert not wraps_document(saying, title), saying


def test_sentences_are_cut_at_stops_and_long_ones_at_semicolons_outside_brackets() -> None:
    text = ("四、如何申领？可通过“粤省事”小程序（路径：社保就业-失业-失业金待遇申领；网址：https://example.gov.cn/"
            "index；路径：社会保障-失业保险-失业保险金申领）、“广东人社”APP、国家社会保险公共服务平台等渠道线上申领，"
            "也可凭社会保障卡或有效身份证件、终止或者解除劳动关系材料前往社保经办服务窗口办理；逾期未办的，不予发放。待遇自受理之日起7个工作日内审核办结。")
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences[0] == "四、如何申领？"
    # The long sentence is cut at its own ；, not at those of the aside in brackets.
    assert sentences[1].startswith("可通过") and sentences[1].endswith("窗口办理；")
    assert sentences[2:] == ["逾期未办的，不予发放。", "待遇自受理之日起7个工作日内审核办结。"]


def test_a_question_about_another_edition_is_not_answered_from_this_one(tmp_path: Path) -> None:
    games = {"games.md": front("某市参加某省第十四届运动会奖励办法", "某市人民政府办公室", "某市", "2031-03-01")
             + "第八条 对在省十四运会上获得单项项目金牌的运动员，每获得金牌1枚，奖励4万元。\n"}
    rewards = assistant_over(tmp_path, games)
    assert named_editions("某市参加某省第十四届运动会奖励办法") == {"14届"} and named_editions("省十五运会") == {"15届"}
    assert named_editions("本市第五批中介服务事项清理规范目录") == {"5批"}
    assert not rewards.ask("某市运动员在某省第十四届运动会拿了金牌，奖励多少？").refused
    assert not rewards.ask("某市运动员省十四运会拿了金牌奖多少钱？").refused
    # The 15th games' rewards are not the 14th's, however well the words match.
    assert rewards.ask("某市运动员在某省第十五届运动会拿了金牌，奖励多少？").refused


def test_a_question_about_another_batch_is_not_answered_from_this_one(tmp_path: Path) -> None:
    # Lists published in batches: the fifth batch's count is not the sixth's.
    lists = {"fifth.md": front("某市关于公布第五批清理规范中介服务事项目录的通知", "某市人民政府", "某市", "2031-03-01")
             + "一、本次共清理规范中介服务事项39项，保留中介服务事项301项。\n"}
    batches = assistant_over(tmp_path, lists)
    assert not batches.ask("某市第五批清理规范中介服务事项一共清理了多少项？").refused
    assert batches.ask("某市第六批清理规范中介服务事项一共清理了多少项？").refused
    # A title may write its year without 年; a question's date (2025年8月20号) names no year it is about.
    assert title_years("关于组织开展2025北京市智慧城市场景创新需求清单揭榜工作的通知") == {"2025"}
    assert title_years("国家税务总局公告2023第12号") == set() and title_years("京政发〔2025〕5号") == set()
    assert named_years("我们2025年8月20号才准备好材料，还来得及吗？") == set() and named_years("2025年的名单") == {"2025"}


def test_an_article_number_states_no_quantity(tmp_path: Path) -> None:
    # Every article opens with its number: "第三十一条" is no amount, and a clause deferring to
    # other rules does not say how much.
    pensions = {"pension.md": front("某市企业职工基本养老保险条例", "某市人民代表大会常务委员会", "某市", "2031-01-01")
                + "第三十一条 退休人员基本养老金的调整办法，按照国家和省有关规定执行。\n\n"
                "第三十二条 企业应当自用工之日起三十日内为职工办理基本养老保险参保登记。\n"}
    rules = assistant_over(tmp_path, pensions)
    assert rules.ask("某市退休人员的基本养老金每年调整多少？").refused
    enrol = rules.ask("某市企业招了职工，多少天内要办基本养老保险参保登记？")
    assert not enrol.refused and "三十日内" in enrol.answer
    generic = states_quantity("基本养老金每年调整多少？")
    assert generic is not None and not generic.search("第三十一条 退休人员基本养老金的调整办法")
    assert not generic.search("依照本条例第3条规定") and generic.search("每人每月增加30元")


def test_a_quantity_is_stated_in_any_unit_and_a_cap_by_words(tmp_path: Path) -> None:
    area = states_quantity("新小区每一百户得配多大面积的养老用房？")
    assert area is not None and area.search("按照每百户不少于二十平方米的标准") and area.search("接到通知后十二小时内")
    assert not area.search("配套建设社区养老服务设施")
    # "有没有上限" is answered by "不设上限" as well as by a number.
    cap = states_quantity("重点检查事项的抽查比例有没有上限？")
    assert cap is not None and cap.search("抽查比例不设上限") and not cap.search("抽查比例由各部门确定")
    checks = {"checks.md": front("某市双随机抽查工作办法", "某市市场监督管理局", "某市", "2031-01-01")
              + "第六条 重点检查事项的抽查比例不设上限，一般检查事项的抽查比例应当设置上限。\n"}
    assert not assistant_over(tmp_path, checks).ask("某市重点检查事项的抽查比例有没有上限？").refused


def test_a_question_asking_who_or_where_besides_how_long(tmp_path: Path) -> None:
    # "谁来出" is asked besides the days: a sentence saying who pays covers it without a number.
    assert asks_beyond_quantity("住了几天院，我没有工作单位，这笔医药费谁来出？")
    assert asks_beyond_quantity("上牌要在多少天内去办？去哪办、带什么？")
    assert asks_beyond_quantity("城区以外还有哪些地方、什么时候也不能放？")  # where, besides when
    # A yes-or-no or a list goes with the quantity, and "怎么答复" is a member of staff's framing.
    assert not asks_beyond_quantity("单张最多能充多少钱？有没有上限？")
    assert not asks_beyond_quantity("具体有哪些品种？体高超过多少厘米就不让养？")
    assert not asks_beyond_quantity("补领的工本费具体多少钱，该怎么答复？")
    heroes = {"heroes.md": front("某市见义勇为人员奖励和保护条例", "某市人民代表大会常务委员会", "某市", "2031-01-01")
              + "第十条 见义勇为负伤人员的医疗费用，有工作单位的，由所在单位支付；"
              "无工作单位的，由医疗单位垫支，财政部门据实核拨。\n"}
    paid = assistant_over(tmp_path, heroes).ask("某市见义勇为受伤住了几天院，我没有工作单位，这笔医药费谁来出？")
    assert not paid.refused and "财政部门据实核拨" in paid.answer


def test_in_a_yes_or_no_sentence_ji_is_a_few(tmp_path: Path) -> None:
    # "卖几天……能收摊位费吗" asks yes or no: its 几天 is "a few days", and no count of days is asked.
    assert states_quantity("我是菜农，想拿自家种的菜去菜市场卖几天，市场能收我摊位费吗？") is None
    assert states_quantity("社保中间断了几个月，办入户的时候这段能算连续缴费吗？") is None
    assert wh_part("想去菜市场卖几天，能收摊位费吗？要等几天？").endswith("要等几天？")
    # 多少, 多长 and 多久 still ask inside a yes-or-no, and 几 does when the asker asks to be told.
    assert states_quantity("遛狗的绳子多长有规定吗？") is not None
    assert states_quantity("网上申请多久出结果，之后会来查吗？") is not None
    assert states_quantity("你知道换证要等几天吗？") is not None
    stalls = {"market.md": front("某市菜市场管理条例", "某市人民代表大会常务委员会", "某市", "2031-01-01")
              + "第十三条 菜市场举办者应当划定自产自销专用摊位，供临时销售自产食用农产品的农民使用，"
              "不得向其收取摊位使用费。\n"}
    stall = assistant_over(tmp_path, stalls).ask("我是某市郊区的菜农，想拿自家种的菜去菜市场卖几天，市场能收我摊位费吗？")
    assert not stall.refused and "不得向其收取摊位使用费" in stall.answer


def test_a_sum_of_money_may_be_stated_in_any_currency() -> None:
    money = states_quantity("给境外付服务费，单笔超过多少钱要备案？")
    assert money is not None and money.search("单笔支付等值5万美元以上") and money.search("一万港元")
    assert not money.search("自2013年9月1日起施行")


def test_a_rate_or_a_named_fee_asks_for_money() -> None:
    # "每平米每月最多能收多少" after 物业费 asks a price: "业主委员会……一万平方米以下" states none.
    for question in ("上海普通住宅小区的物业费，政府规定每平米每月最多能收多少？",
                     "普通住宅前期物业服务费的政府指导价是每平方米每月多少？", "建筑垃圾每吨处置要多少？"):
        price = states_quantity(question)
        assert price is not None, question
        assert price.search("每月每平方米1.5元") and not price.search("建筑面积在一万平方米以下的住宅小区"), question
    # ... but not a fee asked about by how long or how many times.
    years = states_quantity("物业费交了多少年才能退？")
    assert years is not None and years.search("连续交满3年的")


def test_the_penalty_comes_before_the_rule_it_punishes(tmp_path: Path) -> None:
    # The rule shares the question's words; the article that punishes it points back at it by number.
    rules = {"taxi.md": front("某市查处车辆非法客运若干规定", "某市人民代表大会常务委员会", "某市", "2031-01-01")
             + "第三条 除客运出租汽车外，禁止对其他汽车喷涂客运出租汽车专用车身颜色、安装客运出租汽车专用顶灯。\n\n"
             "第四条 交通行政管理部门应当会同公安部门开展联合执法。\n\n"
             "第五条 违反本规定第三条规定假冒客运出租汽车的，由交通行政管理部门没收其车辆，并可处以一万元以上五万元以下的罚款。\n"}
    taxis = assistant_over(tmp_path, rules)
    asked = taxis.ask("某市有人把自家私家车喷成出租车的颜色、装上顶灯拉客，查到了会怎么处罚？")
    assert asked.passages[0].passage.section_path[-1] == "第五条"
    assert "一万元以上五万元以下的罚款" in asked.answer
    # "……又怎么办" asks what to do, not the penalty: the rule keeps its place.
    hits = taxis.retriever.search("某市的车想喷涂客运出租汽车专用车身颜色")
    assert hits[0].passage.section_path[-1] == "第三条"
    kept = taxis.retriever.follow_penalties("想喷涂客运出租汽车专用车身颜色，又怎么办？", list(hits))
    assert [h.passage.id for h in kept] == [h.passage.id for h in hits]
    moved = taxis.retriever.follow_penalties("喷涂客运出租汽车专用车身颜色会被怎么处罚？", list(hits))
    assert moved[0].passage.section_path[-1] == "第五条"
    # "怎么办手续" asks how to go about it, not what happens to someone.
    assert not ASKS_PENALTY.search("人走了以后家属要怎么办手续？") and ASKS_PENALTY.search("超期了怎么办？")


def test_a_question_naming_no_place_leans_to_the_national_rule(tmp_path: Path) -> None:
    quotas = {"quota-national.md": front("残疾人就业条例", "国务院", "全国", "2007-02-25")
              + "第八条 用人单位安排残疾人就业的比例不得低于本单位在职职工总数的1.5%。\n",
              "quota-cq.md": front("重庆市残疾人保障条例", "重庆市人民代表大会常务委员会", "重庆市", "2011-11-25")
              + "第二十二条 公司安排残疾人就业的比例最低为在职职工总数的百分之一点五。\n"}
    rules = assistant_over(tmp_path, quotas)
    assert rules.retriever.national_prior > 0

    def first(question: str, prior: float) -> str:
        rules.retriever.national_prior = prior
        return rules.ask(question).passages[0].document.source

    # The city's clause shares more of the words; a prior outweighing that puts the national one first
    # only when the question names no place.
    assert first("公司安排残疾人就业的比例最低是多少？", 0.0) == "quota-cq.md"
    assert first("公司安排残疾人就业的比例最低是多少？", 1.0) == "quota-national.md"
    assert first("重庆的公司安排残疾人就业的比例最低是多少？", 1.0) == "quota-cq.md"


def test_a_markdown_chapter_heading_is_a_label_not_a_point(tmp_path: Path) -> None:
    # The chapter's heading opens the passage of its first article: it is the section path, not a point.
    rules = {"injury.md": front("某省工伤保险条例", "某省人民代表大会常务委员会", "某省", "2031-01-01")
             + "## 第三章  工伤保险基金\n\n第十一条 用人单位应当按时缴纳工伤保险费。\n\n"
             "## 第四章  工伤认定\n\n第十二条 用人单位应当自职工发生事故伤害之日起三十日内提出工伤认定申请。\n"}
    answer = assistant_over(tmp_path, rules).ask("工伤认定申请的时限是多久？")
    assert not answer.refused and "三十日内提出工伤认定申请" in answer.answer
    assert "#" not in answer.answer and all("#" not in s.text for s in answer.sentences)


def test_the_clause_that_answers_outranks_the_notices_opening(assistant: PolicyAssistant) -> None:
    answer = assistant.ask("2031年国庆放几天假？前后要补哪几天班？")
    assert not answer.refused
    top = answer.passages[0].passage.text
    assert "10月1日至7日" in top and "通知如下" not in top
    assert "10月11日" in answer.sentences[0].text
    assert not any("通知如下" in s.text or "各直属机构" in s.text for s in answer.sentences)


def test_a_city_document_is_that_citys_not_its_neighbours(assistant: PolicyAssistant) -> None:
    # 济南 has the 济 of 经济 and 聊城 the 城 of 中心城, words that open many titles; known cities win.
    assert places_of("济南市道路交通安全条例") == {"济南"} and places_of("聊城市道路交通安全条例") == {"聊城"}
    assert places_of("经济开发区管理办法") == set() and places_of("城市管理条例") == set()
    answer = assistant.ask("在济南，几岁的孩子必须坐儿童安全座椅？")
    assert sources(answer) == ["jinan-traffic.md"]  # the same province's other city is not quoted
    assert "未满四周岁儿童应当使用儿童安全座椅" in answer.answer


def test_a_question_asking_two_things_gets_a_sentence_for_each(assistant: PolicyAssistant) -> None:
    question = "某市停车费多少天内要补缴？拖着不补会被罚多少钱？"
    answer = assistant.ask(question)
    assert "三十日内补缴停车费" in answer.answer and "一百元罚款" in answer.answer
    # Even when only the single best sentence passes the threshold, the other ask is answered;
    # with that completion switched off it is not.
    evidence = assistant.in_place(question, answer.passages)
    strict = replace(assistant.extractive, min_relative=0.99, same_passage_extra=0)
    both = strict.answer(question, evidence).answer
    one = replace(strict, ask_relative=2.0).answer(question, evidence).answer
    assert "三十日内补缴停车费" in both and "一百元罚款" in both
    assert ("三十日内补缴停车费" in one) != ("一百元罚款" in one)


def test_a_count_asked_in_its_unit_is_not_answered_by_a_sum_of_money(assistant: PolicyAssistant) -> None:
    question = "某区受理了多少件申请？"
    scorer = SentenceScorer(QueryTerms(assistant.index, Tokenizer(), question), question)
    # What the question asks for is recognised in "21 件" and not in "0 元".
    assert any(cue.search("全年受理申请 21 件") for cue in scorer.cues)
    assert not any(cue.search("全年收取处理费 0 元") for cue in scorer.cues)
    fee = "某区申请处理费收多少钱？"
    scorer = SentenceScorer(QueryTerms(assistant.index, Tokenizer(), fee), fee)
    assert any(cue.search("全年收取处理费 0 元") for cue in scorer.cues)


def test_a_refusal_suggests_only_the_departments_that_apply(assistant: PolicyAssistant) -> None:
    _, hits, _ = assistant.retrieve("养狗要交什么费？")
    sources_found = {h.document.source for h in hits}
    assert {"zz-dog.md", "bj-dog.md"} <= sources_found
    zhengzhou = [h for h in hits if h.document.source == "zz-dog.md"]
    text = refusal_text(hits, relevant=zhengzhou)
    assert "《北京市养犬管理规定》" in text  # still named among the nearest documents
    # refusal_text alone falls back to the issuers; PolicyAssistant.whom_to_ask (below) names the
    # department a people's congress's rules make responsible instead.
    assert "建议向郑州市人民代表大会常务委员会等主管部门咨询" in text


def test_the_same_words_in_two_copies_are_quoted_once(assistant: PolicyAssistant) -> None:
    answer = assistant.ask("某市古树名木养护补助每株每年多少钱？")
    assert not answer.refused
    assert {h.document.source for h in answer.passages[:2]} == {"trees-web.md", "trees-print.md"}
    assert len(answer.sentences) == 1 and len(answer.citations) == 1


def test_a_follow_up_is_judged_as_the_question_it_stands_for(assistant: PolicyAssistant) -> None:
    history = [{"role": "user", "content": "郑州遛狗，绳子最长多长？"}, {"role": "assistant", "content": "……"}]
    same_city = assistant.ask("那每年交多少钱？", history=history)
    assert not same_city.refused and sources(same_city)[0] == "zz-dog.md" and "二百元" in same_city.answer
    # "那温州呢？" asks the dog question about Wenzhou, whose only document here is about advertising
    # ("有效期最长不超过二年"): it is judged as that standalone question, not as the bare "温州".
    query, _, strength = assistant.retrieve("那温州呢？", history)
    assert "遛狗" in query and "郑州" not in query
    assert strength == pytest.approx(assistant.retrieve(query)[2])
    wenzhou = assistant.ask("那温州呢？", history=history)
    assert wenzhou.question == "那温州呢？" and wenzhou.query == query
    assert wenzhou.to_dict()["query"] == query and wenzhou.to_dict()["question"] == "那温州呢？"
    assert all(h.document.source != "zz-dog.md" for _, h in wenzhou.citations)


def test_an_autonomous_county_is_a_place() -> None:
    assert places_of("景宁畲族自治县城市管理条例") == {"景宁"}  # 族自治县: a place, whatever its characters


def test_evidence_terms_leave_out_how_it_asks_and_where(assistant: PolicyAssistant) -> None:
    terms = QueryTerms(assistant.index, Tokenizer(), "郑州市遛狗的绳子有多长？")
    assert "多长" not in terms.weights and {"遛狗", "绳子"} <= set(terms.weights)
    assert any(t.startswith("郑州") for t in terms.weights)
    terms.drop_places({"郑州", "河南"})
    assert not any(t.startswith("郑州") for t in terms.weights)
    assert terms.coverage("携犬出户时，应当束犬链") == pytest.approx(1.0)
    # "多长时间" is how a deadline is asked, whole or cut by the segmenter into 长时间 and 时间.
    deadline = QueryTerms(assistant.index, Tokenizer(), "停车费多长时间内要补缴？")
    assert not {"多长时间", "长时间"} & set(deadline.weights) and "补缴" in deadline.weights
    # A yes-or-no question asked as A不A asks about A: 能不能 leaves no 不能 to match "不能满足……".
    tokens = Tokenizer().tokens
    assert tokens("小区里能不能养鸡？") == ["小区", "里", "养鸡"] and tokens("可不可以退税") == ["退税"]
    assert "符合" in tokens("符不符合条件") and "没有" not in tokens("有没有补贴")
    assert "不能" in tokens("不能满足排水要求")  # a document's 不能 is a word


def test_a_question_told_as_a_story_is_judged_by_what_it_asks(assistant: PolicyAssistant) -> None:
    question = "公司今年一直准备裁人，我要是没有了工作，失业保险费要交满多久才能领？"
    query, hits, strength = assistant.retrieve(question)
    full = QueryTerms(assistant.index, Tokenizer(), query)
    assert {"公司", "今年", "一直", "准备"} <= set(full.weights)
    discounted = QueryTerms(assistant.index, Tokenizer(), query).discount_everyday_words()
    for term, weight in full.weights.items():
        everyday = term in ("公司", "今年", "一直", "准备", "没有", "工作")
        assert discounted.weights[term] == pytest.approx(weight * (0.5 if everyday else 1.0)), term
    assert "失业保险费" in full.weights or "失业" in full.weights
    # The refusal test weighs the story's everyday words at half: the answering clause covers more.
    assert strength == pytest.approx(evidence_strength(discounted, hits, query))
    assert strength > evidence_strength(full, hits, query) + 0.1
    assert "累计缴纳失业保险费满1年" in assistant.ask(question).answer
    # No blanket pass: a story about what no document covers is still refused.
    assert assistant.ask("我们公司今年一直准备给员工发过节费，每人最多能发多少钱？").refused


def test_without_vectors_the_sentence_rerank_weighs_more(assistant: PolicyAssistant) -> None:
    retriever = assistant.retriever
    assert retriever.index.dense is None  # this index is BM25 only
    question = "某市停车费逾期多少天内要补缴？"

    def order(**weights: float) -> list[int]:
        return [h.passage.id for h in replace(retriever, **weights).search(question)]

    # Only the lexical weight applies here, and it changes BM25's order; the dense-index one does not.
    assert order() == order(rerank_weight=0.0) == order(rerank_weight=0.9)
    assert order() != order(lexical_rerank_weight=0.0)


def test_whether_a_rule_applies_is_read_from_its_scope_clause(assistant: PolicyAssistant) -> None:
    scope = assistant.ask("我们公司的数据平台只给内部员工用，不对公众开放，也得按某市那个数据服务管理办法管吗？")
    assert not scope.refused and "适用本办法" in scope.sentences[0].text
    duty = assistant.ask("某市的数据服务上线前，服务提供者要先做什么？")
    assert "上线前完成数据安全评估" in duty.sentences[0].text
    # "能按《……》办吗" asks the same: does that rule cover me.
    named = assistant.ask("我们的平台只给内部员工用，能按《某市数据服务管理办法》办吗？")
    assert not named.refused and "适用本办法" in named.sentences[0].text


def test_a_question_without_chinese_is_asked_for_in_chinese(assistant: PolicyAssistant) -> None:
    answer = assistant.ask("How much is the dog fee in Zhengzhou per year?")
    assert answer.refused and not answer.citations and "请用中文提问" in answer.answer
    mixed = assistant.ask("郑州养狗一年要交多少钱 (dog fee)?")
    assert not mixed.refused and "二百元" in mixed.answer


def test_titles_and_pages_are_written_one_way_everywhere() -> None:
    assert book_title("北京市养犬管理规定") == "《北京市养犬管理规定》"
    assert book_title("《北京市养犬管理规定》") == "《北京市养犬管理规定》"  # not 《《…》》
    assert book_title("《意见》政策解读") == "《〈意见〉政策解读》"  # GB/T 15834: nested titles take 〈〉
    assert book_title("关于印发《办法》的通知") == "《关于印发〈办法〉的通知》"
    assert (page_label([]), page_label([3]), page_label([3, 3]), page_label([3, 5])) == ("", "第3页", "第3页", "第3-5页")


def test_a_year_the_documents_are_not_about_is_refused(assistant: PolicyAssistant) -> None:
    # The holiday notice's title names 2031; the tax relief ran 2030–2032 (its text says so).
    assert not assistant.ask("2031年国庆节放几天？").refused
    later = assistant.ask("2032年国庆节放几天？")
    assert later.refused and not later.citations
    assert not assistant.ask("我2031年退役，开个体店每户每年能扣减多少税？").refused
    assert assistant.ask("我2034年退役，开个体店每户每年能扣减多少税？").refused
    # A sentence naming the asked year still counts, whatever the document's title says.
    hits = assistant.retriever.search("2032年国庆节放几天？")
    stamped = [replace(h, passage=replace(h.passage, text=h.passage.text.replace("国庆节：", "2032年国庆节：")))
               for h in hits]
    terms = QueryTerms(assistant.index, Tokenizer(), "2032年国庆节放几天？")
    assert evidence_strength(terms, stamped, "2032年国庆节放几天？") > evidence_strength(terms, hits, "2032年国庆节放几天？")


def test_the_thesaurus_holds_wording_not_ways_of_asking() -> None:
    # How a question asks (多久, 去哪办, 罚多少, 什么材料) is read by the cues and left out of the
    # terms; a thesaurus entry for it would bring it back as a topic word in every such question.
    asking = re.compile(r"多少|多久|几|哪|什么|怎么|如何|吗$")
    pairs = thesaurus()
    assert len(pairs) > 300
    for spoken, written in pairs.items():
        assert not asking.search(spoken) and spoken not in QUESTION_WORDS, spoken
        assert set(written) - {spoken}, spoken  # at least one other word for it
    assert ("村委会", ("村民委员会",)) in expansions("村委会选举怎么投票")


def test_small_talk_gets_a_reply_and_a_question_after_a_greeting_gets_the_documents(assistant: PolicyAssistant) -> None:
    hello = assistant.ask("你好！")
    assert not hello.refused and not hello.citations and not hello.passages
    assert hello.answer.startswith("您好！我是政策问答助手")
    documents = assistant.index.documents.values()
    newest = max(documents, key=lambda d: d.meta.date).meta.title
    # The newest documents are named, so the visitor learns what can be asked.
    assert f"知识库现有{len(documents)}份文件，如《{newest}》、" in hello.answer
    assert "建议向" not in hello.answer and "没有涉及" not in hello.answer  # not the refusal
    assert assistant.ask("你能回答哪些问题？").answer == hello.answer
    assert assistant.ask("好的，谢谢").answer.startswith("不客气")
    assert assistant.ask("再见~").answer.startswith("再见")
    # A greeting in front of a question does not hide the question.
    asked = assistant.ask("你好，郑州养狗一年要交多少钱？")
    assert not asked.refused and "二百元" in asked.answer and asked.citations


def test_a_question_about_nothing_in_the_collection_is_refused_as_off_topic(
        tmp_path: Path, assistant: PolicyAssistant) -> None:
    from conftest import FakeEmbedder

    from assistant.answer import ExtractiveAnswerer
    from assistant.index import Index
    from assistant.pipeline import off_topic_questions
    from assistant.retrieve import Filters, HybridRetriever

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    embedder = FakeEmbedder()
    settings = settings_for(tmp_path, embedder=FakeEmbedder.name)
    Ingestor(settings, embedder=embedder, progress=False, workers=1).run([corpus])
    index = Index.open(settings.index_dir)
    try:
        dense = PolicyAssistant(index=index, retriever=HybridRetriever(index, embedder=embedder),
                                extractive=ExtractiveAnswerer(index))
        question = "西红柿和土豆怎么炖好吃"  # not one of the calibration questions
        assert question not in off_topic_questions()
        off = dense.ask(question)
        assert off.refused and not off.citations
        assert off.answer.startswith("这个问题不在知识库政策文件的范围内") and "12345" in off.answer
        assert "主管部门咨询" not in off.answer  # no issuer of an unrelated document is suggested
        fine = dense.ask("北京养犬管理服务费多少")
        assert not fine.refused and fine.citations
        # A filter leaves few passages, and every question far from them: the test is off there.
        assert "不在知识库政策文件的范围内" not in dense.ask(question, filters=Filters.parse(["region=北京市"])).answer
        # The calibration questions are Chinese: an English one is left to the LLM (or to 请用中文提问).
        far = dense.off_topic_below - 0.5
        assert dense.off_topic(question, far) and not dense.off_topic("How do I cook braised pork?", far)
    finally:
        index.close()
    # Without dense vectors there is no similarity to judge by.
    assert assistant.off_topic_below is None


# Each heading names the subject in full, as FAQs do: a neighbouring question covers the user's
# words as well as the right one, and 多久 finds its time limit (5个工作日) in the procedure.
FAQ = front("某市失业保险常见问题解答", "某市人力资源和社会保障局", "某市", "2025-01-01") + """一、失业保险金能领多久？

缴费满1年不足5年的，领取失业保险金的期限最长为12个月；缴费满5年不足10年的，最长为18个月。

二、失业保险金能领到多少钱？

失业保险金按照本市最低工资标准的90%按月发放。

三、如何申领失业保险金？

失业人员可以在网上申领失业保险金，经办机构自受理之日起5个工作日内审核办结，审核通过的次月15日前发放。
"""


def test_an_faq_section_asking_the_very_question_is_the_whole_answer(tmp_path: Path) -> None:
    faq = assistant_over(tmp_path, {"faq.md": FAQ})
    # The section whose heading asks this question answers it; the neighbouring questions do not.
    one = faq.ask("失业保险金能领多久？")
    assert "18个月" in one.answer and "90%" not in one.answer and "5个工作日" not in one.answer
    assert [hit.passage.section_path[-1] for _, hit in one.citations] == ["一、失业保险金能领多久？"]
    # Asking two things about the same subject keeps both sections.
    two = faq.ask("失业保险金能领多久？能领多少钱？")
    assert "18个月" in two.answer and "90%" in two.answer
    # A section's heading put before its sentence keeps its own question mark, with no "：" after it.
    assert "一、失业保险金能领多久？缴费满1年" in two.answer and "？：" not in two.answer


SCENES = (front("某市关于开展智慧城市场景揭榜工作的通知", "某市数据局", "某市", "2031-03-01")
          + "一、场景清单\n\n1.社区工作效能提升场景\n\n2.区域交通诱导场景\n\n"
          "二、申报要求与说明\n\n（一）申报条件与要求\n\n1.揭榜单位应当在本市依法注册，近3年无严重失信记录。\n\n"
          "2.揭榜单位可以与合作单位以联合体形式揭榜。\n\n（二）申报时间与流程\n\n"
          "1.揭榜单位应当于2031年5月31日前将揭榜材料报送至场景开放单位。\n\n"
          "三、材料清单\n\n揭榜单位应当提交下列材料：\n\n（一）揭榜申请书；\n\n（二）营业执照复印件；\n\n"
          "（三）法定代表人身份证明。\n\n场景开放单位应当自收到材料之日起5个工作日内完成审核。\n\n"
          "四、揭榜成功的单位能获得哪些支持？\n\n对揭榜成功的单位，按项目投资额的30%给予补助。\n\n"
          "五、加强示范场景培育11.对新认定的市级示范场景，给予一次性10万元奖励。\n")


def test_headings_inside_a_passage_stand_before_what_they_head(tmp_path: Path) -> None:
    scenes = assistant_over(tmp_path, {"scenes.md": SCENES})
    answer = scenes.ask("揭榜单位要满足什么条件？什么时候截止？").answer
    # Each point says which heading it stands under, the section's own heading the first time; two
    # items "1." are told apart, and a heading is not a point of its own.
    assert "- 二、申报要求与说明 > （一）申报条件与要求：1.揭榜单位应当在本市依法注册" in answer
    assert "- 2.揭榜单位可以与合作单位" in answer
    assert "- （二）申报时间与流程：1.揭榜单位应当于2031年5月31日前" in answer
    assert "（一）申报条件与要求[" not in answer
    # The items of a list are not headings: the sentence after the list does not stand under its last item.
    listed = scenes.ask("揭榜要交哪些材料？多久审核完？").answer
    assert "- （三）法定代表人身份证明。[1]" in listed and "身份证明：" not in listed
    assert "- 场景开放单位应当自收到材料之日起5个工作日内完成审核。[1]" in listed
    # A section whose heading asks a question: the heading goes before the answer, not as a point of its own.
    support = scenes.ask("揭榜成功的单位能得到哪些支持？").answer
    assert "- 四、揭榜成功的单位能获得哪些支持？对揭榜成功的单位，按项目投资额的30%给予补助。[1]" in support
    # A heading run into its text without a stop gets one where it is shown.
    award = scenes.ask("新认定的市级示范场景奖励多少钱？").answer
    assert "- 五、加强示范场景培育：11.对新认定的市级示范场景，给予一次性10万元奖励。[1]" in award


def test_inner_headings_are_headings_not_list_items() -> None:
    assert inner_headings("二、申报说明\n（一）申报条件\n1.依法设立的企业。") == {0: "二、申报说明", 7: "（一）申报条件"}
    # A heading run into its paragraph ends in 。, which it loses as a heading.
    assert inner_headings("（五）巩固继续教育。积极开展进修培训。") == {0: "（五）巩固继续教育"}
    assert inner_headings("应提交：\n（一）申请书；\n（二）身份证明\n受理后5日内审核。") == {}
    assert inner_headings("（一）主要目标。到2030年，全市建成10个示范场景。") == {0: "（一）主要目标"}
    assert inner_headings("（二）对符合条件的企业，给予一次性奖励。") == {}  # a pause: a point, not a heading


NEAR_MISSES = {
    "dog.md": front("某市养犬管理规定", "某市人民代表大会常务委员会", "某市", "2031-01-01")
    + "第三条 市公安机关是本市养犬管理工作的主管部门。\n\n"
    "第八条 养犬人应当在取得犬只之日起三十日内办理养犬登记。\n\n"
    "第九条 公安机关应当自受理登记申请之日起十五日内办结。\n\n"
    "第二十条 违反本规定第八条，未办理养犬登记的，由公安机关责令限期改正，处五百元以上一千元以下罚款。\n",
    "parking.md": front("某市停车场收费管理办法", "某市发展和改革委员会", "某市", "2031-03-01")
    + "第五条 路内停车泊位白天收费标准为每小时十元，夜间为每小时二元。\n\n"
    "第二十条 停车场经营者违反本办法第五条规定，超过收费标准收费的，由市场监管部门处五千元以上五万元以下罚款。\n",
    "contest.md": front("某市关于举办青年创业大赛的通知", "某市人力资源和社会保障局", "某市", "2031-02-01")
    + "一、参赛对象：在本市注册未满三年的初创企业。\n\n二、报名方式：参赛企业登录大赛官网报名。\n",
}


@pytest.fixture(scope="module")
def near_misses(tmp_path_factory: pytest.TempPathFactory) -> PolicyAssistant:
    return assistant_over(tmp_path_factory.mktemp("near"), NEAR_MISSES)


def test_a_fine_does_not_state_a_fee(near_misses: PolicyAssistant) -> None:
    # The only sum in the rules is the fine for not registering: it is not what registering costs.
    refused = near_misses.ask("在某市办养犬登记要交多少钱？")
    assert refused.refused
    # Whom to ask is the department the rules make responsible, not the congress that passed them.
    assert "建议向市公安机关" in refused.answer and "人民代表大会" not in refused.answer
    fined = near_misses.ask("在某市不办养犬登记会被罚多少钱？")
    assert not fined.refused and "五百元以上一千元以下罚款" in fined.answer
    # Nor is it quoted as the answer to what parking costs, however well its words match.
    fee = near_misses.ask("某市路内停车收费标准是每小时多少钱？")
    assert "每小时十元" in fee.answer and "五千元" not in fee.answer
    # The 处理 of a fee ("垃圾处理费", "信息处理费") asks about no penalty; "会怎么处理" does.
    assert ASKS_PENALTY.search("不办登记会怎么处理？") and ASKS_PENALTY.search("被查到会被处理吗？")
    assert not ASKS_PENALTY.search("办养犬登记的信息处理费要交多少钱？")
    assert near_misses.ask("在某市办养犬登记，信息处理费要交多少钱？").refused


def test_a_measure_or_a_time_asked_for_needs_that_measure_or_time(near_misses: PolicyAssistant, tmp_path: Path) -> None:
    # 厘米 is stated nowhere; "五百元" and "三十日" are numbers, but not heights.
    assert near_misses.ask("在某市养犬，犬只体高超过多少厘米就不让养？").refused
    # 工作日 are answered by days as well.
    days = near_misses.ask("在某市申请养犬登记，几个工作日能办结？")
    assert not days.refused and "十五日内办结" in days.answer
    # "截止到哪天" needs a date or a period, which the contest notice does not give.
    assert near_misses.ask("某市青年创业大赛报名截止到哪天？").refused
    assert not near_misses.ask("在某市养犬，养犬登记最晚什么时候要办？").refused
    # "次月" says when as well as a date does: the month after the contract ("合同签订的次月起缴纳").
    when = states_time("城镇土地使用税从什么时候开始交？")
    assert when is not None and when.search("从合同签订的次月起缴纳城镇土地使用税") and not when.search("按规定缴纳")
    # "几点" asks for a time of day, stated as "22：00" or "22时".
    hour = states_time("夜间从几点算起？")
    assert hour is not None and hour.search("夜间22：00—次日6：00") and hour.search("晚上22时以后")
    # A question asking two things ("超过多少分贝？从几点算起？") is covered by a sentence answering either.
    noise = {"noise.md": front("某市声环境功能区划分方案", "某市人民政府办公室", "某市", "2031-01-01")
             + "六、本方案适用的时段为昼间6：00—22：00，夜间22：00—次日6：00。\n"}
    hours = assistant_over(tmp_path, noise).ask("某市声环境功能区的夜间时段从几点算起？噪声超过多少分贝算超标？")
    assert not hours.refused and "夜间22：00—次日6：00" in hours.answer
    # A telephone number is stated by one, not by an article number ("第八条") or a sum.
    assert near_misses.ask("某市养犬登记的办理电话是多少？").refused
    phone = states_contact("大赛的咨询电话是多少？")
    assert phone is not None and phone.search("三、咨询电话：020-83123456。") and not phone.search("第八条 三十日内")
    assert states_contact("财务打电话来问：职工教育经费最少要占多少？") is None  # telling, not asking for a number


def test_who_passes_a_question_on_is_not_what_it_asks(tmp_path: Path) -> None:
    hotline = front("某市12345政务服务便民热线管理办法", "某市人民政府办公室", "某市", "2031-01-01") + (
        "第六条 12345热线转来的市民诉求，由承办科室汇总，统一答复口径，建立工作台账。\n")
    rules = assistant_over(tmp_path, {"dog.md": NEAR_MISSES["dog.md"], "hotline.md": hotline})
    # Staff pass questions on with a framing: the hotline and the reply are not what the rules must cover,
    # and the question weighs as much evidence as when it is asked directly.
    asked = "某市养犬登记要在取得犬只之日起多少日内办理？"
    framed = "12345热线转来一位市民的诉求，科室要统一答复口径：" + asked
    assert rules.retrieve(framed)[2] == pytest.approx(rules.retrieve(asked)[2])
    answer = rules.ask(framed)
    assert not answer.refused and "三十日内办理养犬登记" in answer.answer
    terms = QueryTerms(rules.index, Tokenizer(), framed).drop_framing(framed)
    assert "热线" not in terms.weights and "养犬" in terms.weights


def test_the_responsible_department_is_read_from_the_rules() -> None:
    assert responsible_department(["第四条 市、区民政部门是本市殡葬活动的行政主管部门，负责殡葬管理工作。"]) == "市、区民政部门"
    assert responsible_department(["第六条 市旅游行政管理部门（以下统称旅游行政管理部门）负责本行政区域内旅游业的监督管理。"]) \
        == "市旅游行政管理部门"
    assert responsible_department(["第三条 市水行政主管部门对全市河湖保护管理工作实施统一监督管理。"]) == "市水行政主管部门"
    assert responsible_department(["第二条 印花税由税务机关负责征收管理。"]) == "税务机关"
    assert responsible_department(["第一条 为了规范养犬行为，制定本条例。", "第五条 养犬人应当文明养犬。"]) is None
    assert asks_elsewhere("北京市人民代表大会常务委员会") and asks_elsewhere("最高人民法院") and asks_elsewhere("国务院")
    assert not asks_elsewhere("国务院办公厅关于……的通知起草部门：人力资源社会保障部")  # only the State Council itself
    assert not asks_elsewhere("广州市人力资源和社会保障局")


def named(title: str, number: str) -> str:
    """Front matter, and the 文号 line a notice starts with."""
    return (f'---\ntitle: "{title}"\nissuer: "某市人民政府办公厅"\ndate: "2031-04-01"\nregion: "某市"\n'
            f'doc_number: "{number}"\n---\n\n{number}\n\n')


NAMED = {
    "rental.md": named("某市人民政府办公厅关于印发某市公共租赁住房管理办法的通知", "某府办规〔2031〕13号")
    + "第二十一条 申请公共租赁住房保障的，以家庭为单位申请。\n\n"
    "第二十二条 申请公共租赁住房保障应当同时符合下列条件：（一）具有本市城镇户籍；（二）家庭收入符合标准。\n\n"
    "第二十五条 公共租赁住房保障的申请、审核程序如下：申请、初审、复审、公示。\n\n"
    "第三十条 违反本办法第二十一条规定，申请条件不实、骗取申请资格的，取消其申请资格。\n",
    "shared.md": named("某市人民政府办公厅关于印发某市共有产权住房管理办法的通知", "某府办规〔2031〕14号")
    + "第二十二条 共有产权住房的规定如下：按本办法规定申请，按规定的份额购买，规定年限内不得转让。\n",
}


def test_a_document_named_by_its_number_or_title_and_its_article_come_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    staff = assistant_over(tmp_path, NAMED)

    def first(question: str) -> tuple[str, tuple[str, ...]]:
        hit = staff.retrieve(question)[1][0]
        return hit.document.source, hit.passage.section_path

    # The other rules' 第二十二条 uses 规定 three times; the one asked for is the 13号 document's.
    assert first("某府办规〔2031〕13号第二十二条是怎么规定的？") == ("rental.md", ("第二十二条",))
    assert first("某府办规[2031]第13号 第二十二条是怎么规定的？") == ("rental.md", ("第二十二条",))  # spelt otherwise
    assert first("《某市共有产权住房管理办法》第二十二条是怎么规定的？") == ("shared.md", ("第二十二条",))
    assert first("《某市公共租赁住房管理办法》第二十五条是怎么规定的？") == ("rental.md", ("第二十五条",))
    # The article goes first even where another article, citing it, matches the words better.
    assert first("某府办规〔2031〕13号第二十一条关于申请条件是怎么规定的？") == ("rental.md", ("第二十一条",))
    # Without an article, the named document's passages still come first.
    assert first("《某市共有产权住房管理办法》对公共租赁住房保障的申请、初审、复审有什么规定？")[0] == "shared.md"
    answer = staff.ask("某府办规〔2031〕13号第二十二条是怎么规定的？")
    assert answer.citations[0][1].document.source == "rental.md" and "城镇户籍" in answer.answer
    # A question about a named document is answered from it alone, and its 文号 counts as covered.
    about = staff.ask("某府办规〔2031〕14号的主要内容是什么？")
    assert not about.refused and {hit.document.source for _, hit in about.citations} == {"shared.md"}
    # Unquoted before the article it names, the title names it too; the answer quotes that article alone,
    # though the article citing it (第三十条) shares more of the words.
    cited = staff.ask("某市公共租赁住房管理办法第二十一条关于申请条件说的什么？")
    assert [hit.passage.section_path for _, hit in cited.citations] == [("第二十一条",)]
    # A follow-up asks about the same document.
    history = [{"role": "user", "content": "《某市共有产权住房管理办法》第二十二条是怎么规定的？"}, {"role": "assistant", "content": "……"}]
    follow = staff.ask("那《某市公共租赁住房管理办法》呢？", history=history)
    assert follow.citations[0][1].document.source == "rental.md"
    then = staff.ask("那第二十五条呢？", history=[{"role": "user", "content": "某府办规〔2031〕13号第二十二条是怎么规定的？"}])
    assert then.citations[0][1].passage.section_path == ("第二十五条",)
    # A 文号 no document has, and no passage quotes, is a document the collection does not hold.
    missing = staff.ask("某府办规〔2031〕99号第二十二条是怎么规定的？")
    assert missing.refused and missing.answer.startswith("知识库中没有文号为某府办规〔2031〕99号的文件")
    # A quoted title found in too many titles (《实施意见》 in hundreds) names none of them.
    assert len(staff.retriever.named_documents("《管理办法》第二十二条")) == 2
    monkeypatch.setattr(retrieve, "_MOST_NAMED", 1)
    assert staff.retriever.named_documents("《管理办法》第二十一条") == []  # another question: not cached


def test_what_kind_of_fact_a_question_asks_for() -> None:
    condition = asked_kinds("住房公积金可以提取吗？")
    # A yes-or-no question asks whether the rule allows it, however it is put.
    assert asked_kinds("公积金能取出来吗？") == condition and asked_kinds("失业了还能领么？") == condition
    assert asked_kinds("失业保险金能领多久？") > asked_kinds("失业保险金领多久？")  # 能领: and whether at all
    assert not asked_kinds("公积金管理中心在哪里办公") & condition
    # "怎么规定的" asks what the rule says; "怎么申请" asks how to go about it.
    procedure = asked_kinds("养犬登记怎么办？") - asked_kinds("养犬登记的规定")
    assert procedure and procedure <= asked_kinds("养犬证怎么申请？")
    assert not asked_kinds("遛狗牵引绳的长度是怎么规定的？") & procedure
    # "怎么处罚" asks for the penalty, which "怎么规定" does not.
    penalty = asked_kinds("不分类投放垃圾，会被怎么处罚？") - asked_kinds("垃圾分类投放是怎么规定的？")
    assert penalty and not penalty & procedure and not asked_kinds("养犬登记怎么办？") & penalty
    # A question that mentions a penalty asks for none.
    asking = asked_kinds("会被怎么处罚？") - asked_kinds("处罚决定")
    assert asking and not asked_kinds("处罚案件的法制审核还没走完，能先签发处罚决定吗？") & asking


def test_a_question_about_the_penalty_is_answered_by_the_penalty_clause(near_misses: PolicyAssistant) -> None:
    # 第八条 shares every word of the question; 第二十条 says what happens to whoever breaks it.
    answer = near_misses.ask("在某市养犬，一直不办养犬登记的话会被怎么处理？")
    assert not answer.refused
    assert answer.citations[0][1].passage.section_path == ("第二十条",)
    assert "五百元以上一千元以下罚款" in answer.answer


REPORT = (front("某区2031年政府信息公开工作年度报告", "某区人民政府办公室", "某区", "2032-01-20")
          + "一、总体情况\n\n（二）依申请公开情况。进一步规范依申请公开流程，依法按时答复申请人。\n\n"
          "三、收到和处理政府信息公开申请情况\n\n一、本年新收政府信息公开申请数量 95 0 0 0 0 0 95\n\n"
          "二、上年结转政府信息公开申请数量 0 0 0 0 0 0 0\n")


def test_a_table_row_states_the_count_its_cells_hold(tmp_path: Path) -> None:
    answer = assistant_over(tmp_path, {"report.md": REPORT}).ask("某区2031年新收了多少件政府信息公开申请？")
    # The row counts 件 without writing it; the paragraph about the same applications states no count.
    assert not answer.refused and "本年新收政府信息公开申请数量 95 0 0 0 0 0 95" in answer.answer


def test_the_askers_own_figure_weighs_less_than_the_subject(tmp_path: Path) -> None:
    # The asker states 三十年 and asks for the limit; the rule states 二十年. The figure, cut into three
    # tokens (三十, 十年, 三十年), weighs half. On the full corpus, at full weight, a clause stating it about
    # something else (教龄) came first (README, "The asker's own figures weigh half"); in an index this
    # small the rule comes first either way, so the weights are what fails without the rule.
    documents = {
        "funeral.md": front("某省殡葬管理办法", "某省人民政府", "某省", "2020-01-01")
        + "第十二条 公墓不得一次性收取超过二十年的墓穴管理费。\n\n第十三条 骨灰存放设施应当建立档案，档案保存30年。\n\n"
        "第十四条 本办法自2020年1月1日起施行。咨询电话12345。\n",
        "teachers.md": front("某省实施教师法办法", "某省人民代表大会常务委员会", "某省", "2020-01-01")
        + "第二十五条 在农村中小学校从事教育教学工作累计满三十年的教师，退休后一次性发给三十年教龄荣誉证书。\n\n"
        "第二十六条 教师的平均工资水平应当不低于当地公务员的平均工资水平。\n",
    }
    assistant = assistant_over(tmp_path, documents)
    question = "老家给爸妈买了公墓，墓园让一次交三十年的管理费，最多能一次收几年？"
    terms = QueryTerms(assistant.index, Tokenizer(), question)
    figures = [t for t in terms.weights if t in ("三十", "十年", "三十年")]
    assert figures and "公墓" in terms.weights
    idf = {t: terms._idf(assistant.index.bm25.vocab_dict[t]) for t in (*figures, "公墓")}
    assert all(terms.weights[t] == pytest.approx(0.5 * idf[t]) for t in figures)
    assert terms.weights["公墓"] == pytest.approx(idf["公墓"])
    answer = assistant.ask(question)
    assert not answer.refused and sources(answer)[0] == "funeral.md"
    assert "二十年" in answer.answer
    # A year is not a figure of the asker's: it names the time asked about, and keeps its weight.
    # Nor is an ordinal (第二十五条) or a number that names (the hotline 12345).
    for question, term in (("2020年公墓管理费最多收几年？", "2020"), ("按第二十五条，教龄满多少年？", "二十五"),
                           ("打12345问公墓管理费最多收几年？", "12345")):
        weights = QueryTerms(assistant.index, Tokenizer(), question).weights
        assert weights[term] == pytest.approx(terms._idf(assistant.index.bm25.vocab_dict[term])), question
    # A figure written with full-width digits is the asker's figure too.
    wide = QueryTerms(assistant.index, Tokenizer(), "墓园让交３０年，最多收几年？").weights
    assert wide["30"] == pytest.approx(0.5 * terms._idf(assistant.index.bm25.vocab_dict["30"]))


def test_a_year_the_question_dates_a_document_by_is_its_year_of_issue(tmp_path: Path) -> None:
    # The approval of 2006 sets up a committee for the 2008 games: its title names 2008 only.
    approval = {"approval.md": front("国务院关于同意组建2008年某市运动会机场协调委员会的批复", "国务院", "", "2006-05-23")
                + "一、协调委员会不刻制印章，不正式行文，工作结束后自动撤销。\n"}
    assistant = assistant_over(tmp_path, approval)
    assert issue_years("2006年国务院批准组建的机场协调委员会") == {"2006"}
    assert issue_years("2026年国庆放几天？") == set()  # the year asked about, not one of issue
    answer = assistant.ask("2006年国务院批准组建的某市运动会机场协调委员会，能不能刻公章、对外正式发文？")
    assert not answer.refused and "不刻制印章" in answer.answer
    # A year the title does not name, and not the year of issue either, is still another time.
    assert assistant.ask("2010年某市运动会机场协调委员会能不能刻公章？").refused
