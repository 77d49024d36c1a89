"""The agency API answers in JSON, even where Django or django-ninja answer for it.

An agency system reads every answer of ``/api/`` as JSON (``{"detail": ...}``), but two
answers are made before any endpoint runs: a path that is no endpoint (Django's 404, the
site's HTML page) and a method an endpoint does not take (django-ninja's plain-text 405,
``Method not allowed``). Both are given the API's JSON body here, their status and headers
(the ``Allow`` of a 405) kept.
"""

from __future__ import annotations

import json

PREFIX = "/api/"
DETAIL = {404: "Not Found", 405: "Method not allowed"}


class ApiAnswersInJson:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        detail = DETAIL.get(response.status_code)
        if (
            detail is not None
            and request.path_info.startswith(PREFIX)  # under any SCRIPT_NAME
            and not getattr(response, "streaming", False)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            response.content = json.dumps({"detail": detail}).encode()
            response["Content-Type"] = "application/json; charset=utf-8"
            if response.has_header("Content-Length"):  # set inside, for the old body
                response["Content-Length"] = str(len(response.content))
        return response
