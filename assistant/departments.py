"""Whom to ask when the documents do not answer: the department a document makes responsible.

A refusal suggests asking the issuers of the nearest documents. Most laws and regulations are
passed by a people's congress, and judicial interpretations are issued by a court: neither is
where a citizen asks about dog registration or a fee. Such a text names the department that
administers it, usually in its first articles ("市、区民政部门是本市殡葬活动的行政主管部门",
"市水行政主管部门对全市河湖保护管理工作实施统一监督管理"), and that department is suggested instead.

Example::

    responsible_department(["第四条 市、区民政部门是本市殡葬活动的行政主管部门，负责……"])   # '市、区民政部门'
    asks_elsewhere("北京市人民代表大会常务委员会")                                         # True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Issuers that make rules but do not answer the public's questions about them.
_NOT_ASKED = re.compile(r"人民代表大会|人大常委会|人民法院|人民检察院|^国务院(?:办公厅)?$")

_UNIT = r"(?:部门|机关|局|委员会|厅|部|办公室|中心|机构|管委会)"
_AREA = r"(?:本行政区域|本市|本省|本区|本县|本自治区|本自治州|全国|全市|全省|全区|辖区|本辖区)"
_NAME = r"([^，。；：:\s“”]{2,30}?" + _UNIT + r")"
# The sentence forms that make a department responsible, at the start of a sentence.
_RESPONSIBLE = (
    re.compile(_NAME + r"(?:是|为)[^。；，]{0,40}?(?:行政)?主管部门"),
    re.compile(_NAME + r"(?:主管|负责)[^。；]{0,40}?(?:工作|管理|监督|登记|审批|许可|执法)"),
    re.compile(_NAME + r"对" + _AREA + r"[^。；]{0,40}?(?:实施|进行|负责)[^。；]{0,6}?(?:监督管理|管理)"),
    re.compile(_NAME + r"履行下列职责"),
)
_ARTICLE_START = re.compile(r"^(?:第[一二三四五六七八九十百零〇\d]+条\s*|[（(][一二三四五六七八九十]+[）)]|\s)+")
_ASIDE = re.compile(r"[（(]以下[^）)]{0,30}[）)]")  # "（以下统称旅游行政管理部门）"
_SENTENCE = re.compile(r"[^。；\n]+")


def asks_elsewhere(issuer: str) -> bool:
    """Whether ``issuer`` passes or interprets rules rather than administers them (a people's
    congress, a court, the State Council itself): not whom to suggest asking."""
    return bool(_NOT_ASKED.search(issuer.strip()))


def responsible_department(texts: Iterable[str]) -> str | None:
    """The department the first sentence that makes one responsible names, in reading order of
    ``texts`` (a document's passages); None when no sentence does."""
    for text in texts:
        for match in _SENTENCE.finditer(text):
            sentence = _ASIDE.sub("", _ARTICLE_START.sub("", match.group().strip()))
            for pattern in _RESPONSIBLE:
                found = pattern.match(sentence)
                # "印花税由税务机关负责……" names 税务机关; "自治县人民政府对……国家行政机关负责" names none.
                name = found.group(1).rsplit("由", 1)[-1] if found else ""
                if len(name) >= 2 and not re.search(r"[对向]", name):
                    return name
    return None
