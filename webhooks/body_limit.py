"""The body size limit (``REFUNDS_MAX_BODY_BYTES``), kept for a chunked body too.

Werkzeug refuses a ``Content-Length`` over the limit with 413, but a body sent with
``Transfer-Encoding: chunked`` (no length) is read only up to the limit and silently cut there:
the signature then fails on the cut body (a 400 ``signature_mismatch`` that hides the cause).
``LimitedRequest`` reads one byte past the limit from the server's stream; if there is one, the
body was over the limit and the answer is 413 ``body_too_large``, as with a length.
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge


class LimitedRequest(Request):
    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> Any:
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        limit = self.max_content_length
        if (limit is not None and self.content_length is None and len(data) >= limit
                and self.environ["wsgi.input"].read(1)):
            raise RequestEntityTooLarge()
        return data.decode(errors="replace") if as_text else data
