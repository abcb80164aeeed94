"""The only request parser: JSON whose top level is an object (anything else is a parse error)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONObjectParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deeply.")) from None
        if not isinstance(data, dict):
            raise ParseError(_("JSON parse error - the body must be a JSON object."))
        return data
