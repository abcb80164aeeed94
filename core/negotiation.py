"""DRF's choice of renderer, remembered for each ``Accept`` header it has answered.

DRF's negotiation builds ``request.headers`` from the whole environ, parses the ``Accept`` header
and reads the query string on every request: about 35 µs in a loop here, against 0.7 for the JSON
it then writes (bench/NOTES.md). Its answer depends only on that header, the ``?format=`` override,
a format suffix and the view's renderers, so a request with neither override reuses the answer
DRF gave for the same header and renderers. DRF still decides every case it has not seen, and every
request with a query string or a header over ``LONGEST`` characters; a refusal (406) is never
remembered, and at most ``REMEMBERED`` answers are, so no client can make the memory grow.
"""

from rest_framework.negotiation import DefaultContentNegotiation

LONGEST, REMEMBERED = 256, 128


class RememberingContentNegotiation(DefaultContentNegotiation):
    answers: dict[tuple, tuple[int, str]] = {}  # (Accept, renderer classes...) -> (which renderer, media type)

    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request.META
        accept = meta.get("HTTP_ACCEPT", "*/*")
        if format_suffix or meta.get("QUERY_STRING") or len(accept) > LONGEST:
            return super().select_renderer(request, renderers, format_suffix)
        key = (accept, *map(type, renderers))
        answer = self.answers.get(key)
        if answer is None:
            renderer, media_type = super().select_renderer(request, renderers)
            answer = (next(i for i, candidate in enumerate(renderers) if candidate is renderer), media_type)
            if len(self.answers) >= REMEMBERED:
                self.answers.clear()
            self.answers[key] = answer
        position, media_type = answer
        return renderers[position], media_type
