"""The only request parser: JSON whose top level is an object (anything else is a parse error).
Its errors speak to people, never in the JSON decoder's words (which can name interpreter internals)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NOT_JSON = _("The request body is not valid JSON.")


class JSONObjectParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except (ParseError, RecursionError):
            raise ParseError(NOT_JSON) from None
        if not isinstance(data, dict):
            raise ParseError(_("The request body must be a JSON object."))
        return data
