"""The API's JSON renderer: DRF's ``JSONRenderer``, its bytes written by orjson (in Rust).

DRF's ``json.dumps`` took 7.5 µs of every response in a loop here, orjson 0.7, in requests whose
whole cost is a few hundred (bench/NOTES.md). The bytes are DRF's: compact, UTF-8, U+2028 and U+2029
escaped. What orjson does not know natively (lazy translations, Decimal, dates and times) goes to
DRF's own encoder, so it comes out as DRF writes it. What orjson refuses (an integer over 64 bits,
a lone surrogate, a type neither knows), and a media type with parameters (``; indent=4``), are
rendered by DRF itself, errors included. One difference is left: a NaN or an infinity becomes
``null`` where DRF's strict mode refuses it (no response here carries a float). The
drf-orjson-renderer package writes other bytes: a type it does not know becomes ``null``,
datetimes end in ``+00:00``, U+2028 stays raw.
"""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))  # U+2028, U+2029 in UTF-8


class FastJSONRenderer(JSONRenderer):
    encode_other = JSONEncoder().default

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or ";" in (accepted_media_type or "") or (renderer_context or {}).get("indent"):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=self.encode_other, option=OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80" in rendered:
            for character, escaped in LINE_SEPARATORS:
                rendered = rendered.replace(character, escaped)
        return rendered
