"""Place names: which places a document is about, and which places a question names.

People ask about their own city ("郑州遛狗……", "在广东租房……"), and a rule of another city is a
wrong answer however well its words match. The gazetteer is read off the indexed documents
themselves — their ``region`` and the place names that open their titles and issuers — plus the
provinces and their prefecture-level cities (``data/cities.txt``), so that a question about a
city no indexed document covers is still seen to name a place, and refused rather than answered
from another city's rules.

Example::

    gazetteer = Gazetteer.from_documents(index.documents.values())
    gazetteer.places_in("郑州遛狗，绳子多长？")          # {'郑州', '河南'}
    gazetteer.document_places[doc_id]                    # {'河南', '郑州'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .datafiles import data_rows
from .literals import words_pattern
from .store import StoredDocument

PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
             "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
             "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")
_PROVINCE_SET = frozenset(PROVINCES)
# The first place in a name is a province, city, prefecture or county; a district (区) only
# follows a city ('广州市天河区'), because '…园区', '…新区', '…风景区' open many titles too.
_FIRST_PLACE = re.compile(r"([\u4e00-\u9fa5]{2,3}?)(?:[\u4e00-\u9fa5]{1,3}族)?(?:省|市(?![场民政容级])|自治区|自治州|自治县|县)")
_NEXT_PLACE = re.compile(r"([\u4e00-\u9fa5]{2,3}?)(?:区|县)")
# Title openings that look like places but are not: 社区, 园区, 新区 … as words on their own.
_NOT_PLACES = {"人民", "中华人民共和", "全国", "国家", "中央", "中共", "关于", "城市", "农村", "地方", "社区", "园区",
               "自治", "行政", "特别", "经济", "开发", "高新", "保税", "示范", "试验", "街道", "各省", "各", "本市",
               "本省", "全市", "全省", "城区", "主城", "辖区", "市辖", "市场", "监督", "小区", "景区", "校区"}


CITIES_FILE = Path(__file__).with_name("data") / "cities.txt"


@cache
def shipped_cities() -> dict[str, tuple[str, str]]:
    """Surface form -> (place name, province) for the cities in ``data/cities.txt``.

    A name that is also an everyday word is listed with its 市, 州 or 地区 ("白银市"): it matches
    only in that form and stands for the bare name ("白银").
    """
    cities: dict[str, tuple[str, str]] = {}
    for province, names in data_rows(CITIES_FILE):
        for surface in names:
            # 白银市 -> 白银, 阿里地区 -> 阿里, 红河州 -> 红河 (but 杭州 stays 杭州).
            cities[surface] = (re.sub(r"(?<=..)(市|州|地区)$", "", surface), province)
    return cities


@cache
def _city_names() -> frozenset[str]:
    return frozenset(name for name, _ in shipped_cities().values())


DISTRICTS_FILE = Path(__file__).with_name("data") / "districts.txt"
_DIVISION = re.compile(r"^(.{2,}?)(?:[\u4e00-\u9fa5]{1,2}族)*(?:自治县|自治旗|林区|特区|区|县|市|旗)$")
_MUNICIPALITIES = frozenset(("北京", "天津", "上海", "重庆"))


@cache
def shipped_districts() -> dict[str, tuple[str, str]]:
    """Surface form -> (place name, city) for the county-level divisions in ``data/districts.txt``:
    "海珠区" -> ("海珠", "广州"). A division whose name is also a province's or a city's ("河北区" of
    天津, "广安区" of 广安) is left out: it would be taken for that province or city."""
    taken = _PROVINCE_SET | _city_names()
    districts: dict[str, tuple[str, str]] = {}
    for city, names in data_rows(DISTRICTS_FILE):
        for surface in names:
            match = _DIVISION.match(surface)
            if match and match.group(1) not in taken:
                districts[surface] = (match.group(1), city)
    return districts


_NOT_PLACE_CHARS = set("关于的和与及在对推动规范办法条例技术人才荣誉文化经济生态资源管理保护促进实施若干国务"
                       "体育完善建筑商品交易旅游景居住宅风名胜湿地精致古老中心城")


def place_chain(text: str, limit: int = 24) -> list[str]:
    """The places that open ``text``, outermost first: '广州市天河区关于…' -> ['广州', '天河']."""
    head = text[:limit]
    if head.startswith("中共"):
        head = head[2:]
    chain: list[str] = []
    match = _FIRST_PLACE.match(head)
    while match is not None:
        name = match.group(1)
        # A known city is a place whatever its characters (济南 has the 济 of 经济, 聊城 the 城 of 中心城).
        known = name in _city_names() or "族自治" in match.group(0)  # 景宁畲族自治县 is surely a place
        if not known and (name in _NOT_PLACES or any(ch in _NOT_PLACE_CHARS for ch in name)):
            break
        chain.append(name)
        match = _NEXT_PLACE.match(head, match.end())
    return chain


def places_of(text: str, limit: int = 24) -> set[str]:
    """Place names (without 省/市/区 suffixes) that open ``text``: '广州市天河区关于…' -> {'广州', '天河'}."""
    head = text[:limit]
    return {p for p in PROVINCES if p in head} | set(place_chain(text, limit))


_REGION_PART = re.compile(r"(内蒙古|黑龙江|[\u4e00-\u9fa5]{2,3}?)(?:省|市|自治区|自治州|地区|盟|区|县)")


def region_chain(region: str) -> list[str]:
    """'广东省广州市' -> ['广东', '广州']: every level a region field names, outermost first."""
    chain = [p for p in PROVINCES if region.startswith(p)][:1]
    chain += [m.group(1) for m in _REGION_PART.finditer(region) if m.group(1) not in chain]
    return chain


def places_of_region(region: str) -> set[str]:
    """'广东省广州市' -> {'广东', '广州'}: every level a region field names."""
    return set(region_chain(region))


@dataclass
class Gazetteer:
    """Known place names, and the places of each document."""

    names: set[str] = field(default_factory=set)
    # A matched form that stands for another name: "白银市" -> "白银".
    aliases: dict[str, str] = field(default_factory=dict)
    document_places: dict[str, set[str]] = field(default_factory=dict)
    # City -> its province, learned from regions like "广东省广州市": a province's rules apply in its cities.
    parents: dict[str, set[str]] = field(default_factory=dict)
    # The county-level places (海珠, 天河, 朝阳): the rules of one do not answer a question about another.
    districts: set[str] = field(default_factory=set)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _asked: dict[tuple[str, bool], frozenset[str]] = field(default_factory=dict, repr=False)
    _scopes: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_documents(cls, documents: Iterable[StoredDocument]) -> Gazetteer:
        gazetteer = cls()
        for document in documents:
            meta = document.meta
            region = places_of_region(meta.region)
            places = region | places_of(meta.title) | places_of(meta.issuer)
            gazetteer.document_places[document.doc_id] = places
            gazetteer.names |= places
            # A city named by a document of a province ("郑州市…条例", region 河南省) lies in it, and
            # each place of "广东省广州市" or "广州市天河区…" lies in the ones before it.
            provinces = {p for p in region if p in PROVINCES}
            for place in places - provinces - _PROVINCE_SET:
                gazetteer.parents.setdefault(place, set()).update(provinces)
            for chain in (region_chain(meta.region), place_chain(meta.title), place_chain(meta.issuer)):
                for i, place in enumerate(chain):
                    gazetteer.parents.setdefault(place, set()).update(p for p in chain[:i] if p != place)
                    # "广州市天河区", "北京市朝阳区": what follows a city (or a municipality) is a district.
                    if i and (chain[i - 1] not in _PROVINCE_SET or chain[i - 1] in _MUNICIPALITIES):
                        gazetteer.districts.add(place)
        gazetteer.names |= _PROVINCE_SET
        for surface, (name, province) in shipped_cities().items():
            gazetteer.names.add(surface)
            if surface != name:
                gazetteer.aliases[surface] = name
            if name != province:
                gazetteer.parents.setdefault(name, set()).add(province)
        for surface, (name, city) in shipped_districts().items():
            gazetteer.names.add(surface)
            gazetteer.aliases[surface] = name
            gazetteer.parents.setdefault(name, set()).add(city)
            gazetteer.districts.add(name)
        return gazetteer

    def places_in(self, question: str, with_provinces: bool = True) -> set[str]:
        """The known place names a question mentions (longest match wins: 广州 not 广 + 州), with the
        places that contain them (天河 -> 广州 -> 广东) unless ``with_provinces`` is False."""
        key = (question, with_provinces)
        found = self._asked.get(key)
        if found is None:
            # One question is asked about its places several times (boost, filter, refusal).
            if len(self._asked) > 4096:
                self._asked.clear()
            found = self._asked[key] = frozenset(self._places_in(question, with_provinces))
        return set(found)

    def _written(self, question: str) -> list[str]:
        if self._pattern is None:
            self._pattern = words_pattern(self.names)
        # "海珠区" is a place, "河西区域" is not (区域, 县域 are words of their own).
        return [m.group(0) for m in self._pattern.finditer(question)
                if not (m.group(0)[-1] in "区县" and question[m.end():m.end() + 1] == "域")]

    def _places_in(self, question: str, with_provinces: bool) -> set[str]:
        found = {self.aliases.get(m, m) for m in self._written(question)}
        if with_provinces:
            todo = list(found)
            while todo:  # 天河 -> 广州 -> 广东
                for parent in self.parents.get(todo.pop(), set()) - found:
                    found.add(parent)
                    todo.append(parent)
        return found

    def written_in(self, question: str) -> list[str]:
        """The place names as the question writes them ("海珠区", "郑州"), for telling the asker which
        place the collection has nothing on."""
        return list(dict.fromkeys(self._written(question)))

    def about(self, doc_id: str, asked: set[str]) -> bool:
        """Whether a document is about one of the ``asked`` places (:meth:`places_in` with provinces).

        A city's or district's document counts only when that city or district is asked: a
        question about 郑州 takes Henan's provincial rules but not 三门峡's; one about 天河 takes
        Guangzhou's (天河 lies in 广州), but not 海珠's. A province's document counts when the
        province is asked.
        """
        scope = self.scope(doc_id)
        if not scope & asked:
            return False
        # ... and a district's rules do not answer a question about another district of its city:
        # 天河's kindergarten plan is not 海珠's, though both lie in 广州.
        asked_districts, its_districts = asked & self.districts, scope & self.districts
        return not asked_districts or not its_districts or bool(asked_districts & its_districts)

    def scope(self, doc_id: str) -> frozenset[str]:
        """The places a document's rules are for: its cities and districts, or else its provinces."""
        scope = self._scopes.get(doc_id)
        if scope is None:
            places = self.document_places.get(doc_id, set())
            scope = self._scopes[doc_id] = frozenset(places - _PROVINCE_SET or places)
        return scope
