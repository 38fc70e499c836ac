"""Relevance of sentences to a question: term weights, question-type cues, sentence scores.

Shared by the retriever's rerank stage (which passage best answers the question) and by the
extractive answerer (which sentences to quote). A sentence scores by the share of the question's
term weight (BM25 IDF from the index) it contains, plus a bonus when it states the kind of fact
the question asks for: an amount, a deadline, a condition, a procedure, who is responsible, a list.

Example::

    terms = QueryTerms(index, Tokenizer(), "逾期不交停车费罚多少")
    scorer = SentenceScorer(terms, "逾期不交停车费罚多少")
    scorer.score("逾期未缴纳的，处一百元罚款。")   # > 1.0: most terms, and an amount
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from .bm25 import idf
from .datafiles import data_lines
from .index import Index
from .numbers import cn_to_int
from .synonyms import expansions
from .tokenize import DOMAIN_TERMS, Tokenizer, normalize

_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?[”’」』）)]*")
_SEMICOLON = re.compile(r"[；;]")
_LONG_SENTENCE = 160  # split a longer sentence at ；: list items; a shorter one keeps its subject


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``text[start:end]`` cut after each ；, except one inside brackets: "（路径：社保就业-失业；网址：……）"
    is one aside, not the end of a clause."""
    parts = []
    depth = 0
    checked = start  # brackets are counted up to here
    for semicolon in _SEMICOLON.finditer(text, start, end):
        at = semicolon.start()
        between = text[checked:at]
        depth = max(0, depth + between.count("（") + between.count("(") - between.count("）") - between.count(")"))
        checked = at
        if depth == 0:
            parts.append((start, at + 1))
            start = at + 1
    if start < end:
        parts.append((start, end))
    return parts


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``: split at 。！？ and line ends, and a long
    sentence also at ；, so that "……的；拒不改正的，处……罚款" keeps the clause it depends on."""
    spans = []
    for match in _SENTENCE.finditer(text):
        parts = [match.span()]
        if match.end() - match.start() > _LONG_SENTENCE:
            parts = _clauses(text, match.start(), match.end())
        for start, end in parts:
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end - start >= 2:
                spans.append((start, end))
    return spans


# What kind of fact a question asks for, and the words of sentences that state that kind of fact.
_AMOUNT_CUE = re.compile(r"\d+(?:\.\d+)?\s*(?:%|元|万元|亿元)|[一二三四五六七八九十百千万]+元|百分之|倍|比例|标准|不超过|最高")
# What a clause of penalties does to someone who breaks a rule: the cue of a question asking about
# penalties (CUES), and how retrieval tells a rule's penalty article (HybridRetriever.follow_penalties).
STATES_PENALTY = re.compile(r"罚款|处罚|责令|吊销|暂停|取消|注销|暂扣|拘留|追究|承担.{0,6}责任|处分|警告|没收|滞纳金")
CUES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (re.compile(r"多少钱|多少|几[元万块]|金额|补贴|补助|奖励|罚|费|标准|比例|额度|封顶|最高|最多|上限"), _AMOUNT_CUE),
    (
        re.compile(r"多久|多长时间|几天|期限|时限|什么时候|何时|哪天|日期|时间|期间|几个月|几年|多少天|截止"),
        re.compile(
            r"\d+\s*(?:个?工作日|日|天|个月|年|小时)|[一二三四五六七八九十]+(?:个?工作日|日|天|个月|年)|之日起|以内|期限|届满|至\d"
        ),
    ),
    (
        # ... and "能取出来吗", "还能领么": a yes-or-no question asks whether the rule allows it.
        re.compile(r"条件|能不能|能否|可以|可不可以|是否|资格|符合|要求|算不算|允许|合法|行不行|有没有资格|能用|能领"
                   r"|能[\u4e00-\u9fa5]{0,8}[吗么嘛]"),
        re.compile(r"应当|须|必须|具备|符合|年满|以上|以下|不得|可以|禁止|条件|属于|视为|是指|所称"),
    ),
    (
        # ... not "怎么规定的" or "如何认定", which ask what the rule says, nor "怎么处罚", which asks
        # for the penalty (below), not how to go about it.
        re.compile(r"怎么(?!规定|说|定|讲|写|界定|理解|看|回事|样|处罚|罚|处理)|如何(?!规定|界定|理解|认定|处罚|处理)"
                   r"|流程|步骤|程序|手续|申请|办理|材料|报批|环节|哪些环节|去哪"),
        re.compile(r"申请|提交|提出|受理|审核|审查|材料|办理|登记|报送|公示|核准|备案|复核|程序"),
    ),
    (
        re.compile(r"谁|哪个部门|哪家|哪个单位|什么单位|机构|部门|负责"),
        re.compile(r"负责|部门|机构|中心|主管|委员会|局|办公室"),
    ),
    (
        re.compile(r"去哪|在哪|哪里|哪儿|什么地方|哪个网站|什么网站|什么平台|哪个平台|办理地点"),
        re.compile(r"服务中心|窗口|大厅|网站|网址|平台|小程序|APP|App|地址|地点|进驻|线上|网上|现场|登录"),
    ),
    # Whether a rule covers the asker at all ("也得按那个暂行办法管吗", "算不算在范围内") is said by its
    # scope clause: "……的服务，适用本办法", "本条例所称……".
    (re.compile(r"适用|管吗|管不管|归.{0,8}管|受.{0,8}(?:约束|管)|范围(?:内|之内)?吗|在不在.{0,8}范围|[得要]按.{0,16}管"
                r"|能(?:不能)?按照?(?:《[^》]{2,40}》|[^，。？]{0,12}(?:规定|办法|条例|细则))"),
     re.compile(r"适用|本(?:办法|条例|规定|细则|措施)所称|范围")),
    # Someone who gives their age ("我今年43岁") asks whether an age limit lets them in.
    (re.compile(r"\d+\s*岁|[二三四五六七八九]十[一二三四五六七八九]?岁|岁数|年龄(?:限制|要求|条件|上限|下限)|年纪|多大了"),
     re.compile(r"周岁|年龄|年满|岁以[上下]|岁及以[上下]")),
    # What happens to someone who breaks the rule ("劝了还不听，会被怎么处罚？") is said by the clause
    # of penalties, not by the rule broken, which shares all of the question's words.
    # A question that only mentions a penalty ("处罚案件法制审核还没走完，能先签发处罚决定吗") asks no such thing.
    (re.compile(r"罚多少|罚款|罚金|怎么罚|怎么处罚|如何处罚|被.{0,8}(?:罚|处罚|处理)|受到.{0,4}处罚|(?:什么|哪些|啥)(?:处罚|后果)"
                r"|后果|会怎样|会怎么样|怎么处理|追究|要罚|会罚|罚吗|罚不罚"),
     STATES_PENALTY),
    (re.compile(r"哪些|哪几|分几|几类|几种|包括|有什么"), re.compile(r"包括|分为|以下|下列|如下|主要有|[一二三四五六七八九十]是|^[（(]?[一二三四五六七八九十\d]{1,2}[）)、.．]")),
]


def asked_kinds(text: str) -> frozenset[int]:
    """Which kinds of fact (the entries of :data:`CUES`) ``text`` asks for: an amount, a time, a
    condition … Two questions about one subject ask the same thing only if these agree."""
    text = wh_part(text)
    return frozenset(i for i, (asks, _) in enumerate(CUES) if asks.search(text))


# 几类, 几种, 几个 … are answered by naming them as much as by counting them: no quantity required.
_ASKS_QUANTITY = re.compile(r"多少|几[年月天日岁份次件条元块]|几个(?:工作日|小时|月|星期)|多长|多大|多久|多高|多远|比例|金额|几成")
# A number starts here, not inside another or after 第: "第十二条" is an ordinal, and counts nothing.
_NUMBER_START = r"(?<![第\d.零一二两三四五六七八九十百千万亿])"
# Not the number of an article or an item: "第三十一条 ……按照国家有关规定执行" states no amount.
_STATES_QUANTITY = re.compile(_NUMBER_START
                              + r"(?:\d|[一二三四五六七八九十百千万两]+(?:元|万|亿|日|天|个|年|月|岁|周岁|份|次|项|件|条|米|平方米|公里"
                              r"|亩|吨|公斤|千克|倍|档|级|成|小时|分钟|户|人|名|家|所|张|辆|层|学时|课时|学分|周|星期))|百分之")
# A count or sum asked for in a unit of its own ("多少项证明", "几家企业", "多少钱") is only stated
# by that unit after a number: "2022年版" is a number, but not how many 项. So is a measure ("多少米",
# "多少个学时", "多少岁"), which may take a 个; a count may not, or 几个分公司 would ask for 分.
_ASKS_UNIT = re.compile(r"(?:多少|几)(项|件|条|份|家|户|所|钱|元|人|名|分)"
                        r"|(?:多少|几)个?(厘米|毫米|米|公里|千米|平方米|亩|公顷|吨|公斤|千克|学时|课时|学分|周?岁|辆|张"
                        r"|工作日|小时|分钟)")
# A sum of money asked for by what it is ("交多少工本费", "给多少奖励资金", "补贴能拿多少") is stated in 元,
# or as a share ("返还50%", "就餐费用的四分之一"); any other number (a date, a count) does not state it.
_ASKS_MONEY = re.compile(r"(?:多少|几)[\u4e00-\u9fa5]{0,4}?(?:费|奖励|奖金|资金|补贴|补助|经费|资助)"
                         r"|(?:(?:费|费用|奖励|奖金|资金|补贴|补助|经费|资助)(?:是|要|得|需要|有|能|可以|给|发|拿|领|到|补|报销|返还|奖)*"
                         # ... a fee or a price named earlier in the sentence ("物业费，政府规定每平米每月最多能收
                         # 多少", "指导价是每平方米每月多少"), or a rate per unit of area, weight or distance ("每吨多少"):
                         r"|(?:费|价)[^。？?]{0,12}?|每(?:平米|平方米|平方|亩|吨|公里|千米|立方米|方)[^，,。？?]{0,8}?)多少"
                         # ... not how long: "停车费多少天内要补缴" asks for days.
                         r"(?!个?(?:天|日|年|月|小时|工作日|周|星期|次))")
# Any currency: "单笔超过多少钱" is answered by "等值5万美元以上".
_MONEY = "(?:美|欧|港|日|澳)?元|港币|美金|英镑|%|％"
# How often ("多久组织一次演练", "几年检查一次") is stated by a period, often without a number: "每学年".
_ASKS_FREQUENCY = re.compile(r"(?:多久|多长时间|几[年月天周]|多少[年天])[\u4e00-\u9fa5]{0,8}?一次|频次|频率|隔多久")
_STATES_FREQUENCY = re.compile(_STATES_QUANTITY.pattern
                               + r"|每(?:[一二两三四五六七八九十\d]+个?)?(?:学年|学期|年度|年|季度|季|月|周|星期|日|天)|定期")
_UNIT_FORMS = {"钱": _MONEY, "元": _MONEY, "人": "人|名", "名": "人|名", "岁": "周?岁", "周岁": "周?岁",
               "公里": "公里|千米", "千米": "公里|千米",
               # "几个工作日办结" is answered by "20个工作日", and as well by "20日内" or "十五天".
               "工作日": "个?工作日|日|天", "小时": "个?小时|分钟", "分钟": "分钟|个?小时"}
# A whole number, not the tail of an ordinal: "第十二条" states no count of 条.
_NUMERAL = _NUMBER_START + r"(?:\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万亿]+)\s*(?:万|亿)?\s*"


# Whether there is a cap ("抽查比例有没有上限") is answered as well by "不设上限" as by a number.
_ASKS_LIMIT = re.compile(r"上限|下限|封顶")
_STATES_LIMIT = re.compile(_STATES_QUANTITY.pattern + r"|上限|下限|封顶|不限")


# In a sentence that ends in 吗, 几 is "a few", not a question: "想去菜市场卖几天，市场能收我摊位费吗？",
# "社保断了几个月，还能算连续缴费吗", "是按坐了几站来补吗？". Not so 多少, 多长 or 多久, which there
# still ask, as part of the yes-or-no ("绳子多长有规定吗", "多久出结果，之后会来查吗"), nor 几 when
# the asker asks to be told ("你知道要等几天吗").
_ASKED_SENTENCE = re.compile(r"[^？?！!。；;]+[？?！!。；;]*")
_YES_NO = re.compile(r"[吗么嘛][”」』）)]?\s*[？?！!。；;]*\s*$")
_EMBEDS = re.compile(r"知道|清楚|告诉|问一下|问问|请问|了解")


@lru_cache(maxsize=256)  # asked of the same question by each test of what it asks (quantity, time, kinds, cues)
def wh_part(question: str) -> str:
    """``question`` with the 几 of its yes-or-no sentences read as "a few" (些): what is left of
    几, 多少 and 什么时候 asks.

    Example::

        wh_part("想去菜市场卖几天，能收摊位费吗？要等几天？")   # "想去菜市场卖些天，能收摊位费吗？要等几天？"
    """
    return "".join(s.replace("几", "些") if _YES_NO.search(s) and not _EMBEDS.search(s) else s
                   for s in _ASKED_SENTENCE.findall(question))


def states_quantity(question: str) -> re.Pattern[str] | None:
    """What a sentence must match to state the quantity the question asks for; None when it asks none.

    Example::

        states_quantity("一共取消了多少项证明").search("取消证明事项12项")   # a match
        states_quantity("一共取消了多少项证明").search("2022年版目录")         # None
    """
    question = wh_part(question)
    if not _ASKS_QUANTITY.search(question):
        return None
    asked = [count or measure for count, measure in _ASKS_UNIT.findall(question)]  # 多少件…多少米
    units = dict.fromkeys(_UNIT_FORMS.get(u, u) for u in asked)
    if _ASKS_MONEY.search(question):
        units[_MONEY] = None
    if units:
        return re.compile(_NUMERAL + f"(?:{'|'.join(units)})" + ("|分之" if _MONEY in units else ""))
    if _ASKS_FREQUENCY.search(question):
        return _STATES_FREQUENCY
    return _STATES_LIMIT if _ASKS_LIMIT.search(question) else _STATES_QUANTITY


# A telephone number asked for ("咨询电话是多少", "热线号码是多少"; not "打电话来问") is stated by one: a run of digits, not an
# article number or a date. A web address ("在哪个网站申请") by an address or a named platform.
_ASKS_PHONE = re.compile(r"(?:电话|热线|号码)(?:是|号码)?(?:多少|几号|是什么)|联系方式|联系电话|咨询电话|打哪个电话|什么电话")
_STATES_PHONE = re.compile(r"\d{5,}|\d{3,4}\s*[-－—]\s*\d{5,8}")
_ASKS_WEB = re.compile(r"网址|哪个网站|什么网站|网站是|网站地址|哪个平台|什么平台|哪个小程序|哪个APP|哪个app")
_STATES_WEB = re.compile(r"https?://|www\.|\.(?:gov\.)?cn|\.com|网站|平台|小程序|APP|App|app|公众号|客户端")


def states_contact(question: str) -> re.Pattern[str] | None:
    """What a sentence must match to give the telephone number or web address the question asks
    for; None for any other question.

    Example::

        states_contact("社保咨询电话是多少？").search("咨询电话：020-12345678")   # a match
        states_contact("社保咨询电话是多少？").search("第五条 民政部门负责……")      # None
    """
    if _ASKS_PHONE.search(question):
        return _STATES_PHONE
    return _STATES_WEB if _ASKS_WEB.search(question) else None


# A clause setting a fine ("……的，处五百元以上一千元以下罚款"): its sum is not a fee, a price or a
# subsidy, so it answers only a question about penalties.
FINE_CLAUSE = re.compile(r"[^，,；;。：:]*(?:罚款|罚金|没收)[^，,；;。]*")
# A question about what is done to someone who breaks a rule; 处理 only as that ("会怎么处理",
# "被查到会被处理吗"): the 处理 of "垃圾处理费", "信息处理费" or "多久给处理完" asks about a fee or a
# service. Retrieval looks up a rule's penalty article for these (HybridRetriever.follow_penalties).
ASKS_SANCTION = re.compile(r"罚|处罚|处分|违法|违规|违反|法律责任|后果|查处|会怎样|追究"
                           r"|(?:怎么|如何|怎样|咋)处理|被[^，,。？?]{0,8}处理|会被?处理")
# ... or "怎么办" as "what now?" (not as in "家属要怎么办手续"): "超期了怎么办" may be answered by a
# fine's sum, but "信息变了又怎么办" asks what to do, so it sends retrieval to no penalty article.
ASKS_PENALTY = re.compile(ASKS_SANCTION.pattern + r"|怎么办(?=[？?。！!，,呢啊]|$)")


def without_fines(sentence: str) -> str:
    """``sentence`` without its clauses that set a fine (:data:`FINE_CLAUSE`)."""
    # The substring test first: the clause pattern is slow to fail, and most sentences set no fine.
    return FINE_CLAUSE.sub("", sentence) if ("罚" in sentence or "没收" in sentence) else sentence


# When something happens or ends ("什么时候开始申报", "截止到哪天", "几号前") is stated by a date or a period.
# ... and at what hour ("夜间从几点算起") by a time of day: "22：00", "22时", "晚上十点".
_ASKS_WHEN = re.compile(r"什么时候|啥时候|何时|哪天|哪一天|几月|几号|几点|截止|截至|开始时间|起止")
_STATES_WHEN = re.compile(r"\d{1,2}\s*月|[一二三四五六七八九十]{1,3}月|\d{1,2}\s*日|[之当次翌]日|[次翌][月年]|当月|即日|日[起前后内]|月底|年底|月初|年初"
                          r"|季度|上半年|下半年|每年|期间|届满|以前|之前|工作日|\d{4}\s*年"
                          r"|\d{1,2}\s*[:：]\s*\d{2}|\d{1,2}\s*[时点]|[一二三四五六七八九十]{1,3}[时点]")


# A question that asks, besides a quantity, who does something, where, or with what papers
# ("上牌要在多少天内去办？去哪办、带什么？", "住了几天院……这笔医药费谁来出？"): a clause asking that
# and no quantity. Not a yes-or-no ("有没有上限？", "每年一样吗？") or a list ("有哪些品种？体高超过多少
# 厘米"), which go with the quantity; nor a member of staff's "怎么答复".
_CLAUSE = re.compile(r"[^？?！!，,、；;。]+")
_QUESTION_WORD = re.compile(r"谁|哪个部门|哪个单位|哪家单位|哪里|哪儿|去哪|在哪|找哪|带什么|带啥|什么材料|哪些材料"
                            r"|(?:哪些|什么|哪个)(?:地方|区域|地点|场所|场合)"
                            r"|怎么申请|如何申请|怎么办理|如何办理")
_QUANTITY_WORD = re.compile(_ASKS_QUANTITY.pattern + r"|上限|下限|最多|最少|最高|最低|封顶|几|多少")


def asks_beyond_quantity(question: str) -> bool:
    """Whether ``question`` asks something besides the quantity or time it asks for: then a sentence
    that answers that other part covers it too, without stating the quantity.

    Example::

        asks_beyond_quantity("多少天内要去办？去哪办、带什么？")   # True
        asks_beyond_quantity("工本费多少钱？每年一样吗？")         # False
    """
    return any(_QUESTION_WORD.search(clause) and not _QUANTITY_WORD.search(clause) and not _ASKS_WHEN.search(clause)
               for clause in _CLAUSE.findall(question))


def states_time(question: str) -> re.Pattern[str] | None:
    """What a sentence must match to say when, for a question asking when something happens or
    ends ("报名截止到哪天"); None for any other question.

    Example::

        states_time("什么时候开始申报").search("每年3月1日起受理申报")   # a match
        states_time("什么时候开始申报").search("符合条件的企业可以申报")   # None
    """
    return _STATES_WHEN if _ASKS_WHEN.search(wh_part(question)) else None


# A quantity the asker states about themselves ("干了6年", "持股20%", "还剩8个月"), not a
# calendar year: the rule that decides their case sets a threshold in the same unit.
_STATED = re.compile(r"(?<![\d〇○零一二三四五六七八九十两百千])(?<!\d年)(\d+(?:\.\d+)?|[一二三四五六七八九十两百千]+)\s*(个多月|个月|多年|年(?!度)|%|％|万元|元|口人|人|名|平方米|天|日"
                     r"|周?岁|成(?![年都立员本果功绩熟为交]))")
_AMOUNT = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十两百千半]+)\s*"
# A duration stated in months is decided by a threshold in years too ("打工才四个月" against
# "居住半年以上"), and one in years by months; "5口人" by a count of 人.
_SAME_MEASURE = {"个多月": ("个月", "年"), "个月": ("个月", "年"), "多年": ("年", "个月"), "年": ("年", "个月"),
                 "口人": ("人",), "％": ("%",), "岁": ("周?岁",), "周岁": ("周?岁",), "成": ("%",)}
# A share the asker states ("我写了大概六成", "持股20%") meets a threshold written as a fraction too.
_SHARE_THRESHOLD = re.compile(r"[一二三四五六七八九十百\d]+分之[一二三四五六七八九十\d]+\s*(?:以上|以下|及以上|及以下)"
                              r"|半数以上|过半|超过半数|不少于一半|一半以上")
# "4—6人", and with the unit written twice: "50%—70%", "18周岁至40周岁".
_RANGE = r"(\d+(?:\.\d+)?)\s*(?:{unit})?\s*[-—–~～至到]\s*(\d+(?:\.\d+)?)\s*(?:{unit})"


@dataclass(frozen=True)
class RangeHolding:
    """Finds a range in ``unit`` (a pattern) that holds one of ``values``: "4—6人" for a household
    of 5, "18—40周岁" for someone of 36, and not "0-6岁" for someone of 62.

    Example::

        RangeHolding((5.0,), "人").search("按1—3人的4000元/户，4—6人的6000元/户")   # matches "4—6人"
    """

    values: tuple[float, ...]
    unit: str

    def search(self, text: str) -> re.Match[str] | None:
        for match in re.finditer(_RANGE.format(unit=self.unit), text):
            low, high = float(match.group(1)), float(match.group(2))
            if any(low <= value <= high for value in self.values):
                return match
        return None


# What a sentence is searched with for a kind of fact: a pattern, or a range holding a number.
Matcher = re.Pattern[str] | RangeHolding


def stated_thresholds(question: str) -> list[Matcher]:
    """Patterns of thresholds in the units of the quantities a question states, and of ranges
    holding them.

    Example::

        stated_thresholds("公司成立满2年，员工30人")   # thresholds in 年, 个月 and 人; ranges holding 2年, 30人
        any(p.search("累计缴费满15年") for p in stated_thresholds("干了6年"))   # True
    """
    values: dict[str, list[float]] = {}
    for match in _STATED.finditer(question):
        if match.group(2) == "年" and len(match.group(1)) == 4:  # 2023年 is a date, not a duration
            continue
        number = match.group(1)
        value = float(number) if number[0].isdigit() else cn_to_int(number)
        if value is not None and match.group(2) == "成":  # 六成 is 60%
            value = float(value) * 10
        measures = _SAME_MEASURE.get(match.group(2), (re.escape(match.group(2)),))
        for unit in measures:
            values.setdefault(unit, [])
        if value is not None:  # a range must hold it in the unit it was stated in
            values[measures[0]].append(float(value))
    found: list[Matcher] = []
    for unit in sorted(values):
        if unit != "周?岁":  # an age has its own cue (CUES) for limits; only a range holding it adds
            found.append(re.compile(rf"(?:满|不低于|不少于|不超过|不高于|达到|超过|低于|未满){_AMOUNT}(?:{unit})"
                                    rf"|{_AMOUNT}(?:{unit})(?:以上|以下|以内|内|及以上|及以下)"))
        if values[unit]:  # ... or a range holding the very number: "4—6人的6000元/户" for 5口人
            found.append(RangeHolding(tuple(values[unit]), unit))
        if unit == "%":
            found.append(_SHARE_THRESHOLD)
    return found


# How a question asks, not what it is about: rare in documents, so an IDF weight would make them
# the question's heaviest terms ("多长" outweighing "遛狗").
QUESTION_WORDS = frozenset("多长 多长时间 长时间 多久 找 多大 多高 多远 多重 多宽 多深 几个 几次 几天 几年 几岁 什么样 怎么办 咋办 咋 啥 "
                           "啥时候 什么时候 哪天 为啥 干嘛 行吗 可以吗 对吗 是吗 么".split())


EVERYDAY_WORDS_FILE = Path(__file__).with_name("data") / "everyday_words.txt"


# A year as a question or a title names it: "2023年", "2026年度", "2023年第一季度" — not the 2023 of a
# number ("2023号", "公告2023年第12号"), which says when a document was issued, not what it is about.
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*年(?!\s*第\s*\d)(?!\s*\d{1,2}\s*月\s*\d{1,2}\s*[日号])")


def named_years(text: str) -> set[str]:
    """The years ``text`` names as its subject.

    Example::

        named_years("国务院办公厅关于2019年部分节假日安排的通知")   # {"2019"}
        named_years("国家税务总局公告2018年第28号")                 # set()
    """
    return set(_YEAR.findall(text))


# A year the question dates a document by ("2006年国务院批准组建的……", "北京2021年公布的第二批……"): the
# year it was issued, which its title may not name ("关于同意组建2008年北京奥运会……的批复", 国函〔2006〕38号).
_ISSUED_IN = re.compile(r"((?:19|20)\d\d)\s*年[^，,。？?]{0,8}?(?:印发|发布|出台|公布|批准|下发|颁布|发的|出的)")


def issue_years(text: str) -> set[str]:
    """The years ``text`` names as when a document was issued (a subset of :func:`named_years`).

    Example::

        issue_years("2006年国务院批准组建的首都机场协调委员会")   # {"2006"}
        issue_years("2026年国庆放几天")                           # set()
    """
    return set(_ISSUED_IN.findall(text)) & named_years(text)


# A title may write its year before a name without 年: "关于组织开展2025北京市智慧城市场景创新需求清单揭榜工作的通知".
_TITLE_YEAR = re.compile(r"(?<![\d〔\[［(（])((?:19|20)\d\d)(?=[\u4e00-\u9fa5])(?![年第号])")


def title_years(title: str) -> set[str]:
    """The years a document's title names as its subject: :func:`named_years`, and a year written
    before a name without 年 ("2025北京市智慧城市……").

    Example::

        title_years("关于组织开展2025北京市智慧城市场景创新需求清单揭榜工作的通知")   # {"2025"}
    """
    return named_years(title) | set(_TITLE_YEAR.findall(title))


# An edition of a recurring event: "第十四届运动会", or as it is shortened, "省十四运会", "十五运"; and a
# batch of a list published in parts: "第五批清理规范中介服务事项", "第二批支持创新相关改革举措".
_EDITION = re.compile(r"第\s*([一二三四五六七八九十百\d]+)\s*([届批])|(?<![第\d一二三四五六七八九十])([一二三四五六七八九十]+)运会?")


def named_editions(text: str) -> set[str]:
    """The editions ``text`` names: which 届 of a games, a fair or a congress, or which 批 of a list,
    as the number and its kind.

    Example::

        named_editions("广安市参加四川省第十四届运动会奖励办法")   # {"14届"}
        named_editions("省十五运会拿金牌奖多少")                   # {"15届"}
        named_editions("本市第五批中介服务事项清理规范目录")       # {"5批"}
    """
    found = set()
    for match in _EDITION.finditer(text):
        numeral = match.group(1) or match.group(3)
        value = int(numeral) if numeral.isdigit() else cn_to_int(numeral)
        if value:
            found.add(f"{value}{match.group(2) or '届'}")
    return found


@cache
def everyday_words() -> frozenset[str]:
    """The most common words of general Chinese (``data/everyday_words.txt``)."""
    return frozenset(data_lines(EVERYDAY_WORDS_FILE))


# A token that is a figure: a number, with or without its unit ("三十年", "79", "十年", "200元"). Not
# a year (named_years judges it apart) or a number that names (the hotline 12345).
_FIGURE_TOKEN = re.compile(r"(?!(?:19|20)\d\d年?$)(?!\d{5,}$)"
                           r"(?:\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)(?:年|个月|月|天|日|岁|周岁|个|次|元|块|万|万元"
                           r"|项|件|条|人|名|家|户|平|平米|米|亩|%|％)?$")


# How a member of staff frames a question they pass on, up to its colon: "12345转来一条市民诉求：",
# "写材料要用：", "有群众来电问：", "做广安招商对比表：", "起草答复口径：".
FRAMING = re.compile(r"^[^：:？?。]{2,40}?(?:问|咨询|反映|诉求|来电|材料|口径|答复|回复|对比表|通知居民|宣传单|用|写)"
                     r"[^：:？?。]{0,8}[：:]")


class QueryTerms:
    """The question's terms with rarity weights (BM25 IDF from the index)."""

    FIGURE_WEIGHT = 0.5  # of a figure the question states (_FIGURE_TOKEN); measured in the README

    def __init__(self, index: Index, tokenizer: Tokenizer, query: str) -> None:
        vocab = index.bm25.vocab_dict
        self._bm25 = index.bm25
        self.weights: dict[str, float] = {}
        self.unknown: list[str] = []
        self.missing: list[str] = []  # policy terms of the user dictionary that no document uses
        for token in dict.fromkeys(tokenizer.tokens(query)):
            if token in QUESTION_WORDS:
                continue
            token_id = vocab.get(token)
            if token_id is None:
                # A policy term ("数电发票") that no indexed document uses names a topic the documents
                # do not cover; any other unknown word is colloquial wording ("遛狗", "打算") far more
                # often than a missing topic, so it neither counts for nor against the evidence.
                (self.missing if token in DOMAIN_TERMS else self.unknown).append(token)
                continue
            self.weights[token] = self._idf(token_id)
        # A spoken word ("养狗") is one term, covered by itself or by the documents' words for it
        # ("养犬"), and as rare as the rarest of them; the pieces it was cut into no longer count.
        self.forms: dict[str, tuple[str, ...]] = {}
        for spoken, written in expansions(normalize(query)):
            idfs = [self._idf(vocab[t]) for form in (spoken, *written)
                    for t in ([form] if form in vocab else tokenizer.tokens(form)) if t in vocab]
            if not idfs:
                continue
            for token in [t for t in self.weights if t in spoken]:
                del self.weights[token]
            self.unknown = [t for t in self.unknown if t not in spoken]
            self.weights[spoken] = max(idfs)
            self.forms[spoken] = (spoken, *written)
        # The asker's own figures ("一次交三十年的管理费", "今年刚满79岁") are what they hold against
        # the document's, which mostly states another (二十年, 八十周岁); and the segmenter cuts one
        # figure into several rare tokens (三十, 十年, 三十年) that together outweigh the subject.
        # ... and not an ordinal: the 二次 of "第二次全国污染源普查" names which census.
        written = normalize(query)  # as the tokens were cut from it (full-width digits to ASCII)
        for term in self.weights:
            if _FIGURE_TOKEN.match(term) and re.search(f"(?<!第){re.escape(term)}", written):
                self.weights[term] *= self.FIGURE_WEIGHT
        self._reweighed()

    def drop_places(self, places: set[str]) -> QueryTerms:
        """Leave out the place names (广州, 广州市): whether a passage is about the asked place is
        judged apart (``PolicyAssistant.in_place``), and a place in a title says nothing about
        whether the passage covers the question's subject. Returns ``self``."""
        spelled = [p + suffix for p in places for suffix in ("", "省", "市", "区", "县")]
        for term in list(self.weights):
            if any(term in name for name in spelled):  # 郑州, 郑州市, and the segmenter's 州市
                del self.weights[term]
        return self._reweighed()

    def drop_years(self, years: set[str]) -> QueryTerms:
        """Leave out the years the query names (2020 of "2020年"): whether a document is about that
        time is judged apart (``answer.about_other_years``), and a year alone covers nothing — a
        date "至2032年12月31日" in an unrelated clause would otherwise answer "2032年国庆放几天".
        Returns ``self``."""
        for year in years & set(self.weights):
            del self.weights[year]
        return self._reweighed()

    def drop_framing(self, query: str) -> QueryTerms:
        """Leave out the words only of a framing that says who asks and why ("热线转来杭州一位业主的
        诉求：", "写控烟宣传材料：", "窗口有人问："): a member of staff passing on a question asks what
        follows the colon, and the hotline, the leaflet or the counter are not what the documents must
        cover. Used for the refusal test. Returns ``self``."""
        framing = FRAMING.match(query)
        if framing:
            asked = query[framing.end():].lower()
            for term in [t for t in self.weights if not any(f in asked for f in self.forms.get(t, (t,)))]:
                del self.weights[term]
        return self._reweighed()

    def discount_everyday_words(self, factor: float = 0.5) -> QueryTerms:
        """Weigh the words of everyday speech (:func:`everyday_words`: 一直, 准备, 今年, 公司) at
        ``factor`` of their weight. Rare in policy documents, they carry a high IDF, so a question
        told with a story ("我们公司今年准备……一直……") looked uncovered by the very clause that answers
        it. Used for the refusal test; the rerank keeps full weights (measured: README, "Refusals").
        Returns ``self``."""
        common = everyday_words()
        for term in self.weights:
            if term in common:
                self.weights[term] *= factor
        return self._reweighed()

    def _reweighed(self) -> QueryTerms:
        """Recompute the total weight after terms were left out or reweighed (coverage divides by
        it on every call, so it is kept rather than summed there). Returns ``self``."""
        self.total = sum(self.weights.values()) or 1.0
        return self

    def _idf(self, token_id: int) -> float:
        return idf(self._bm25, token_id)

    def coverage(self, text: str) -> float:
        """Share of the query's weight whose terms (or their written forms) occur in ``text`` (0..1)."""
        forms = self.forms
        return sum(w for t, w in self.weights.items()
                   if (t in text if t not in forms else any(f in text for f in forms[t]))) / self.total


# Words that wrap a document rather than say anything, found in every notice and answering no
# question: whom it is addressed to ("各区人民政府，市政府各委、办、局："), its 文号 and its title on a
# line of their own, the covering words ("现将有关事项通知如下", "现印发给你们，请认真贯彻执行",
# "现就……提出以下实施意见"), and its signature (the issuing body alone on its line, or the date).
_SIGNATURE = re.compile(r"^(?:\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
                        r"|[\u4e00-\u9fa5（）()\s]{2,40}(?:局|委员会|委|政府|办公室|办公厅|厅|部|中心|院|总局|管委会))$")
_ADDRESSEE = re.compile(r"^各[^。：:]{1,200}[：:]$")
_DOC_NUMBER_LINE = re.compile(r"^[\u4e00-\u9fa5]{1,12}[〔\[［(（]\d{4}[〕\]］)）]\s*\d+\s*号$")
# The list of attachments under a notice names them and no more ("附件：1.申请表"); an attachment whose
# words follow on the same line ("附件：应急救援专用号牌分为……两种，……") says something.
_ATTACHMENT_LINE = re.compile(r"^附件\s*\d*\s*[:：][^，,。；;]{0,60}$")
# "……公告如下：" ends its sentence; where the first item runs on in the same sentence ("……公告如下： 一、自
# 2014年9月1日至2017年12月31日，……免征车辆购置税。"), the sentence says something.
_PROMULGATION = re.compile(r"印发给你们|请(?:认真)?(?:组织实施|贯彻执行|遵照执行|抓好落实|贯彻落实)|(?:通知|公告|通告)如下[。：:]?$"
                          r"|(?:提出|制定)(?:以下|如下)(?:实施|若干|指导)?(?:意见|措施|方案)[。：:]?$|^特此(?:公告|通知)")
# A rule's statement of purpose ("为了……，制定本办法") is in every rule too, and answers only why.
_PURPOSE = re.compile(r"^.{0,40}?为(?:了)?.{2,160}?(?:制定|制订).{0,30}?"
                      r"(?:如下|本(?:办法|规定|条例|细则|方案|意见|措施|实施意见|实施方案|实施细则))[。：:]?$")
_ASKS_PURPOSE = re.compile(r"目的|为什么|为何|依据|背景|出台")


# A Markdown heading ("## 第四章  工伤认定", which opens the passage of the chapter's first article) is
# the document's structure, shown as the section path; quoted, it read "第十二条：## 第四章  工伤认定".
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s")


@lru_cache(maxsize=1 << 16)  # the rerank asks about the same candidate passages' sentences again and again
def wraps_document(sentence: str, title: str = "") -> bool:
    """Whether ``sentence`` is a notice's wrapping (addressee, 文号, title, covering words, attachment
    list, signature), or a Markdown heading line.

    Example::

        wraps_document("各省、自治区、直辖市人民政府，国务院各部委、各直属机构：")   # True
        wraps_document("现将有关事项通知如下：")                               # True
        wraps_document("具体要求如下：")                                       # False: a list follows
    """
    sentence = sentence.strip()
    if (_MARKDOWN_HEADING.match(sentence) or _SIGNATURE.match(sentence) or _ADDRESSEE.match(sentence)
            or _DOC_NUMBER_LINE.match(sentence)
            or _ATTACHMENT_LINE.match(sentence) or _PROMULGATION.search(sentence)):
        return True
    words = "".join(sentence.split())
    return len(words) >= 6 and words in "".join(title.split())


_QUOTED = re.compile(r"《[^》]*》")


class SentenceScorer:
    """Scores sentences (and passages, by their best sentence) against one question."""

    CUE_BONUS = 0.25
    HEADING_WEIGHT = 0.3
    QUESTION_HEADING_WEIGHT = 1.0

    def __init__(self, terms: QueryTerms, question: str) -> None:
        self.terms = terms
        quantity = states_quantity(question)
        counted = quantity is not None and quantity not in (_STATES_QUANTITY, _STATES_FREQUENCY, _STATES_LIMIT)  # asked in a unit: 多少件
        money = counted and quantity.search("1元") is not None  # ... and that unit is money
        # "多少件": a sentence stating "21 件" is what it asks for, and one stating "0 元" is not.
        asked = wh_part(question)
        self.cues: list[Matcher] = [wanted for asks, wanted in CUES
                     if asks.search(asked) and not (counted and not money and wanted is _AMOUNT_CUE)]
        if counted:
            self.cues.append(quantity)
        self.cues += stated_thresholds(question)
        self.asks_purpose = bool(_ASKS_PURPOSE.search(question))
        self.asks_penalty = bool(ASKS_PENALTY.search(question))

    def says_nothing(self, sentence: str, title: str = "") -> bool:
        """Whether ``sentence`` cannot answer this question: a document's wrapping
        (:func:`wraps_document`), or its statement of purpose unless the question asks why."""
        return wraps_document(sentence, title) or (not self.asks_purpose and bool(_PURPOSE.match(sentence.strip())))

    def score(self, sentence: str) -> float:
        # A fine's sum is not the amount a question about a fee or a subsidy asks for.
        stated = sentence if self.asks_penalty else without_fines(sentence)
        value = self.terms.coverage(sentence.lower()) + sum(self.CUE_BONUS for w in self.cues if w.search(stated))
        if len(sentence) < 8:
            value *= 0.5  # a bare heading or list marker says little on its own
        return value

    def heading_asks(self, section_path: tuple[str, ...]) -> float | None:
        """How much of the question a section heading that is itself a question covers (0..1), or
        None when the heading is not a question: the 问答 of a 政策解读 or an FAQ ("三、失业保险金能领
        多久？"). Document names quoted in it (《意见》) do not count."""
        heading = section_path[-1] if section_path else ""
        if not heading.rstrip("…").endswith(("?", "？")):
            return None
        return self.terms.coverage(_QUOTED.sub("", heading).lower())

    def passage_score(self, text: str, section_path: tuple[str, ...] = (), title: str = "") -> float:
        """The best sentence's score, plus a part for a section heading that matches.

        Sentences that say nothing (:meth:`says_nothing`; ``title`` is the document's) do not count:
        a notice's opening passage names its whole topic ("……现将2019年元旦、春节……国庆节放假调休日期
        的具体安排通知如下"), and would otherwise outrank the clause that answers.

        A heading that is itself a question (the 问答 of a 政策解读 or an FAQ: "三、在进一步优化算力布局
        方面有哪些意见值得关注?") is matched against the user's question with its quoted document
        names removed, and weighs more: when it matches, the section is the answer.
        """
        # Best first, so that only the sentences that would win are asked whether they say anything.
        scored = sorted(((self.score(text[s:e]), s, e) for s, e in split_sentences(text)), reverse=True)
        best = next((value for value, s, e in scored if not self.says_nothing(text[s:e], title)), 0.0)
        asks = self.heading_asks(section_path)
        if asks is not None:
            return best + self.QUESTION_HEADING_WEIGHT * asks
        path = self.terms.coverage(" ".join(section_path).lower())
        return best + self.HEADING_WEIGHT * path
