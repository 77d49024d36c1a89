import atexit
import os

from django.core.wsgi import get_wsgi_application
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cradle.site.settings")
application = get_wsgi_application()

# Once Django is set up: the FHIR models loaded now rather than on the first Bundle, then
# everything the worker keeps to its end frozen out of the collector's full collections.
from cradle.domain.collector import settle  # noqa: E402
from cradle.feeds.fhir import load_models  # noqa: E402

load_models()
atexit.register(connections.close_all)  # frozen by settle(), never finalised else
settle()
