"""Numbers in Chinese policy text, normalised so that 三十日 = 30日, 百分之七十 = 70%, ５０％ = 50%.

Used by citation checking (every number in an answer sentence must appear in the cited passage)
and by evaluation (must_include strings match after normalisation).

Example::

    normalize_numbers("自受理之日起三十日内，补贴百分之七十")   # '自受理之日起30日内，补贴70%'
    numbers_in("罚款五十元以上二百元以下")                      # ['50元', '200元']
"""

from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
           "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
_CN = "零〇○一壹二贰两三叁四肆五伍六陆七柒八捌九玖十拾百佰千仟万亿"
_CN_NUMBER = re.compile(rf"[{_CN}]+")
_PERCENT = re.compile(r"百分之([\d.]+)")
_FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)} | {"％": "%", "．": ".", "，": "，"})
# A number with its unit: the thing a citation must not get wrong.
_NUMBER_WITH_UNIT = re.compile(
    r"\d+(?:\.\d+)?\s*(?:%|‰|万元|亿元|千元|元|万|亿|个工作日|工作日|日|天|个月|月|年|周岁|岁|小时|分钟|人|件|条|项|份|次|倍|米|公里|平方米|亩|户)?"
)
# Words in which a Chinese numeral is not a quantity (一般, 统一, 第一 are kept as written).
_NOT_QUANTITY_BEFORE = set("统唯同单之万逐专第周初星礼")
_NOT_QUANTITY_AFTER = set("般切些直旦起致律体并样定同道共经")


def cn_to_int(text: str) -> int | None:
    """'三十' -> 30, '二百五十' -> 250, '一万二千' -> 12000, '二〇二四' -> 2024."""
    if all(ch in _DIGITS for ch in text):
        if len(text) == 1:
            return _DIGITS[text]
        return int("".join(str(_DIGITS[ch]) for ch in text))  # digit by digit: 二〇二四
    total, section, number = 0, 0, 0
    for ch in text:
        if ch in _DIGITS:
            number = _DIGITS[ch]
        elif ch in _UNITS:
            section += (number or 1) * _UNITS[ch]
            number = 0
        elif ch in _BIG:
            total += (section + number) * _BIG[ch]
            section, number = 0, 0
        else:
            return None
    return total + section + number


def normalize_numbers(text: str) -> str:
    """Rewrite Chinese numerals and full-width digits as ASCII digits; 百分之X as X%."""
    text = text.translate(_FULL_WIDTH)

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if len(word) == 1 and (before in _NOT_QUANTITY_BEFORE or after in _NOT_QUANTITY_AFTER):
            return word
        if word in ("万", "亿", "千", "百") and not before.isdigit():
            return word  # a bare unit character is a word (万一, 百姓), not a number
        if word == "十" and after in "分足全":
            return word  # 十分 (very), 十足, 十全
        if before.isdigit() and word[0] in _BIG:
            return word  # "5万" stays: the unit belongs to the digits before it
        value = cn_to_int(word)
        return word if value is None else str(value)

    text = _CN_NUMBER.sub(replace, text)
    text = _PERCENT.sub(lambda m: f"{m.group(1)}%", text)
    return text


def numbers_in(text: str) -> list[str]:
    """The numbers (with their units) in ``text``, normalised: what a cited passage must also contain."""
    normalized = normalize_numbers(text)
    return [re.sub(r"\s+", "", m.group(0)) for m in _NUMBER_WITH_UNIT.finditer(normalized)]


def compact(text: str) -> str:
    """Normalised numbers, no whitespace: the form in which must_include strings are compared."""
    return re.sub(r"\s+", "", normalize_numbers(text))
