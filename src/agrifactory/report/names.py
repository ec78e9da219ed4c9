"""Names of administrative units for charts, which may lack a CJK font.

The boundaries name units in Chinese (``河北省``). A chart drawn without a CJK font
labels a province by its English name and a county by its province's English name
and its own adcode, never by a bare code.
"""

from __future__ import annotations

#: English names of the province-level units by adcode (and ``100000``, the country).
PROVINCES_EN = {
    "100000": "China",
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei",
    "140000": "Shanxi",
    "150000": "Inner Mongolia",
    "210000": "Liaoning",
    "220000": "Jilin",
    "230000": "Heilongjiang",
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
    "350000": "Fujian",
    "360000": "Jiangxi",
    "370000": "Shandong",
    "410000": "Henan",
    "420000": "Hubei",
    "430000": "Hunan",
    "440000": "Guangdong",
    "450000": "Guangxi",
    "460000": "Hainan",
    "500000": "Chongqing",
    "510000": "Sichuan",
    "520000": "Guizhou",
    "530000": "Yunnan",
    "540000": "Xizang",
    "610000": "Shaanxi",
    "620000": "Gansu",
    "630000": "Qinghai",
    "640000": "Ningxia",
    "650000": "Xinjiang",
    "710000": "Taiwan",
    "810000": "Hong Kong",
    "820000": "Macao",
}


def province_of(adcode: str) -> str:
    """The adcode of the province holding a unit (its first two digits, then zeros)."""
    return "100000" if adcode == "100000" else f"{adcode[:2]}0000"


def unit_label(name: str, adcode: str, *, cjk: bool) -> str:
    """A unit's label: its own name where it can be drawn, else an English one.

    With a CJK font (or an ASCII name): ``河北省 Hebei`` for a province, ``康保县`` for
    a county. Without: ``Hebei`` for a province, ``Hebei 130723`` for a county;
    a unit outside the known provinces keeps its adcode.
    """
    adcode = str(adcode)
    english = PROVINCES_EN.get(province_of(adcode))
    is_province = adcode == province_of(adcode)
    drawable = name not in ("", "nan") and (cjk or name.isascii())
    if drawable:
        return f"{name} {english}" if is_province and english and not name.isascii() else name
    if english is None:
        return adcode
    return english if is_province else f"{english} {adcode}"
