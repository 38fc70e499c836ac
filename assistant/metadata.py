"""Document metadata: from YAML front matter when present, otherwise read off the text itself.

Front matter wins field by field; whatever it leaves empty is read off the text: the title line
or a 《》 name, the 文号 pattern, the 落款 date line, "自…起施行", "有效期X年", 废止/失效 marks.

Example::

    body, fields = split_front_matter(raw)
    meta = read_metadata(body, fields, fallback_title="x")
    meta.doc_number  # '京政数发〔2025〕12号'
"""

from __future__ import annotations

import re
from datetime import date as _date
from datetime import timedelta
from typing import Any

import yaml

from .documents import DocumentMeta

# libyaml's loader is ~10x faster than the pure-Python one; both are "safe" loaders.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "两": 2}

# 发改数据〔2023〕1779号, 京政发[2020]4号, 国办发（2019）3号, 国家互联网信息办公室等七部门令第15号
DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fa5]{1,14}[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*第?\s*\d{1,4}\s*号"
    r"|[\u4e00-\u9fa5]{2,30}令\s*[（(]?第\s*\d{1,4}\s*号[）)]?"
)
# How a question (or a text) names a document besides its 文号: its title in 《》 of four or more
# characters ("《广州市公共租赁住房管理办法》", not "《意见》"); and an article of it ("第二十二条").
QUOTED_TITLE = re.compile(r"《([^《》]{4,80})》")
ARTICLE_NUMBER = re.compile(r"第[一二三四五六七八九十百零〇\d]+条(?:之[一二三四五六七八九十]+)?")
_YMD = r"((?:19|20)\d{2}|[〇○零一二三四五六七八九]{4})\s*年\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*日"
_DATE_LINE = re.compile(rf"^\s*{_YMD}\s*$", re.M)
_EFFECTIVE = re.compile(rf"自\s*{_YMD}\s*起\s*(?:施行|执行|实施|生效)")
_EXPIRY_UNTIL = re.compile(rf"有效期(?:至|到)\s*{_YMD}")
# "本通知的执行期限为2014年1月1日至2016年12月31日": the document's validity stated as a range. Only
# where the document says it of itself (本通知, 本办法 …): "原《…办法（试行）》（有效期2016年9月16日至
# 2018年9月15日）" is the validity of the rule it replaces.
_ITSELF = r"本(?:通知|公告|办法|规定|意见|方案|细则|措施|决定)"
_VALID_RANGE = re.compile(rf"{_ITSELF}[^。；;（(]{{0,6}}?(?:执行期限|实施期限|有效期限|有效期|执行期)(?:为|是|：|:)?"
                          rf"\s*自?\s*{_YMD}\s*起?\s*(?:至|到|—|－|-)\s*{_YMD}"
                          rf"|{_ITSELF}自\s*{_YMD}\s*起至\s*{_YMD}\s*止?(?:执行|施行|实施|有效)")
_EXPIRY_YEARS = re.compile(r"有效期(?:为)?\s*([一二三四五六七八九十\d]{1,3})\s*年")

KINDS = ("实施细则", "实施办法", "实施意见", "实施方案", "指导意见", "工作方案", "行动方案", "行动计划",
         "管理办法", "暂行办法", "若干措施", "政策解读", "办事指南", "解读", "问答", "条例", "规定", "办法",
         "细则", "意见", "通知", "方案", "规划", "公告", "通告", "决定", "批复", "复函", "答复", "指引",
         "指南", "措施", "清单", "报告", "函", "法")

_PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
              "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
              "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")
_NATIONAL_ISSUERS = ("国务院", "中共中央", "全国人民代表大会", "全国人大", "国家", "最高人民法院",
                     "最高人民检察院", "中央", "部", "总局", "委员会")
_CITY = re.compile(r"^([\u4e00-\u9fa5]{2,6}?(?:自治州|地区|盟|市|州))")


def split_front_matter(raw: str) -> tuple[str, dict[str, Any]]:
    """Split ``---`` YAML front matter from the body; raise ValueError if it is not YAML.

    Returns the body (text after the front matter) and the parsed fields ({} when none).
    """
    match = _FRONT_MATTER.match(raw)
    if not match:
        return raw, {}
    try:
        fields = yaml.load(match.group(1), Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise ValueError(f"the front matter is not valid YAML{where}; fix it or remove the --- block") from None
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise ValueError("the front matter is not a YAML mapping of field: value; fix it or remove the --- block")
    return raw[match.end():], fields


def to_iso_date(value: object) -> str:
    """Normalise '2024', '2024-5-1', '2024年5月1日', date(2024,5,1) to ISO; '' if not a date."""
    if value is None:
        return ""
    text = str(value).strip()
    match = re.fullmatch(r"((?:19|20)\d{2})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?)?年?", text)
    if match:
        year, month, day = match.groups()
        return _iso(year, month, day)
    match = re.search(_YMD, text)
    if match:
        return _iso(*match.groups())
    return ""


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if len(text) == 4:  # 二〇二四
        return int("".join(str(_CN_DIGITS.get(ch, 0)) for ch in text))
    total, current = 0, 0
    for ch in text:
        value = _CN_DIGITS.get(ch, 0)
        if value == 10:
            total += (current or 1) * 10
            current = 0
        else:
            current = value
    return total + current


def _iso(year: str, month: str | None = None, day: str | None = None) -> str:
    y = _cn_number(year)
    if not month:
        return f"{y:04d}"
    m = _cn_number(month)
    if not 1 <= m <= 12:
        return f"{y:04d}"
    if not day:
        return f"{y:04d}-{m:02d}"
    d = _cn_number(day)
    if not 1 <= d <= 31:
        return f"{y:04d}-{m:02d}"
    return f"{y:04d}-{m:02d}-{d:02d}"


def _add_years(iso: str, years: int) -> str:
    """The last day of a term of ``years`` starting on ``iso``: 2020-01-01 + 5 -> 2024-12-31.

    With a partial start date ('2020', '2020-01') only the year moves: the anniversary period.
    """
    parts = iso.split("-")
    if len(parts) == 3:
        y, m, d = (int(p) for p in parts)
        try:
            anniversary = _date(y + years, m, d)
        except ValueError:  # 29 February in a year that has none: the month's end
            anniversary = _date(y + years + m // 12, m % 12 + 1, 1)
        return (anniversary - timedelta(days=1)).isoformat()
    parts[0] = f"{int(parts[0]) + years:04d}"
    return "-".join(parts)


def _str_field(fields: dict[str, Any], *names: str) -> str:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _first_lines(body: str, count: int = 12) -> list[str]:
    lines = []
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            lines.append(line)
        if len(lines) >= count:
            break
    return lines


def _guess_title(body: str, fallback: str) -> str:
    lines = _first_lines(body)
    for line in lines[:5]:
        if DOC_NUMBER.fullmatch(line) or _DATE_LINE.fullmatch(line):
            continue
        if 4 <= len(line) <= 80 and not re.search(r"[。；！？]$", line):
            return line.strip("*_ ")
    match = re.search(r"《([^《》\n]{4,60})》", body[:2000])
    if match:
        return match.group(1)
    return fallback


def _guess_issuer(title: str, body: str) -> str:
    match = re.match(r"^(.{2,40}?)关于", title)
    if match:
        return match.group(1).strip()
    # 落款: an organisation name on the line right above the final date line.
    tail = body[-600:].splitlines()
    for index in range(len(tail) - 1, 0, -1):
        if _DATE_LINE.fullmatch(tail[index]):
            previous = tail[index - 1].strip() or (tail[index - 2].strip() if index > 1 else "")
            if 2 <= len(previous) <= 40 and re.search(r"(?:政府|委员会|厅|局|部|办公室|院|委|中心|会)$", previous):
                return previous
            break
    return ""


def _guess_region(issuer: str, title: str) -> str:
    for text in (issuer, title):
        for province in _PROVINCES:
            if text.startswith(province) or text.startswith("中共" + province):
                city = _CITY.match(text)
                if province in ("北京", "天津", "上海", "重庆"):
                    return province + "市"
                suffix = "省" if province not in ("内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门") else ""
                return province + suffix if not city or city.group(1).startswith(province + "省") else city.group(1)
        city = _CITY.match(text)
        if city and not text.startswith(("国家", "国务院")):
            return city.group(1)
    if issuer.startswith(_NATIONAL_ISSUERS) or title.startswith(("国务院", "国家", "中共中央")):
        return "national"
    return ""


def _guess_kind(title: str) -> str:
    name = title.rstrip("》」”\" ")
    inner = re.findall(r"《([^》]+)》", title)
    if name.endswith("通知") and inner:
        # 关于印发《…办法》的通知: the document is the 办法, the 通知 only transmits it.
        name = inner[-1]
    for kind in KINDS:
        if name.endswith(kind):
            return kind
    for kind in KINDS:
        if kind in name:
            return kind
    return ""


def _range(match: re.Match[str]) -> tuple[str, ...]:
    """(year, month, day) of the start and of the end of a :data:`_VALID_RANGE` match, whichever form matched."""
    groups = match.groups()
    return groups[:6] if groups[0] else groups[6:]


def read_metadata(body: str, fields: dict[str, Any], fallback_title: str) -> DocumentMeta:
    """Metadata for one document: front-matter ``fields`` first, the text for the rest."""
    title = _str_field(fields, "title", "标题") or _guess_title(body, fallback_title)
    head = body[:3000]
    doc_number = _str_field(fields, "doc_number", "文号", "发文字号")
    if not doc_number and "doc_number" not in fields:
        match = DOC_NUMBER.search(head)
        doc_number = re.sub(r"\s+", "", match.group(0)) if match else ""
    issuer = _str_field(fields, "issuer", "发文机关") or _guess_issuer(title, body)

    date = to_iso_date(fields.get("date") or fields.get("成文日期"))
    if not date:
        tail_dates = _DATE_LINE.findall(body[-800:]) or _DATE_LINE.findall(head)
        if tail_dates:
            date = _iso(*tail_dates[-1])
    publish_date = to_iso_date(fields.get("publish_date") or fields.get("发布日期"))
    effective = to_iso_date(fields.get("effective_date") or fields.get("施行日期"))
    valid = _VALID_RANGE.search(body)
    if not effective:
        match = _EFFECTIVE.search(body)
        effective = _iso(*match.groups()) if match else _iso(*_range(valid)[:3]) if valid else ""
    expiry = to_iso_date(fields.get("expiry_date") or fields.get("失效日期"))
    if not expiry:
        match = _EXPIRY_UNTIL.search(body)
        if match:
            expiry = _iso(*match.groups())
        elif valid:
            expiry = _iso(*_range(valid)[3:])
        else:
            match = _EXPIRY_YEARS.search(body)
            start = effective or date
            if match and start:
                # 有效期5年 from 2020-01-01 ends 2024-12-31: the day before the anniversary,
                # approximated by the anniversary itself when only a year is known.
                expiry = _add_years(start, _cn_number(match.group(1)))
    status = _str_field(fields, "status", "效力", "in_force")
    repealed = status.lower() in ("false", "废止", "失效", "已废止", "已失效", "repealed", "expired")
    if not status:
        repealed = bool(re.search(r"(?:已|现予|予以)(?:废止|失效)", head[:400]))
    region = _str_field(fields, "region", "地区") or _guess_region(issuer, title)
    if region in ("全国", "国家", "中央", "中国"):  # front matter written in words: one spelling for all
        region = "national"
    kind = _str_field(fields, "kind", "类型", "文种") or _guess_kind(title)
    return DocumentMeta(
        title=title,
        issuer=issuer,
        doc_number=doc_number,
        date=date,
        publish_date=publish_date,
        effective_date=effective,
        expiry_date=expiry,
        region=region,
        kind=kind,
        repealed=repealed,
        url=_str_field(fields, "url"),
    )
