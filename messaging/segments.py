"""How an SMS travels: GSM-7 when every character is in the GSM 03.38 alphabet, else UCS-2, and how
many segments that takes (160/153 septets, 70/67 UTF-16 units; GSM extension characters count two).

Written here: the PyPI packages that do this (gsm0338, smsutil) have not been released since 2020.
"""

import math

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def encoding(text: str) -> str:
    return "GSM-7" if all(char in GSM_BASIC or char in GSM_EXTENSION for char in text) else "UCS-2"


def units(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes."""
    if encoding(text) == "GSM-7":
        return len(text) + sum(char in GSM_EXTENSION for char in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    single, multi = (160, 153) if encoding(text) == "GSM-7" else (70, 67)
    size = units(text)
    return 1 if size <= single else math.ceil(size / multi)
