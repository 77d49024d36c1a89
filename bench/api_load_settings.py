"""Settings for ``bench/bench_api_load.py`` only: Cradle's own, with the benchmark's URLconf
(Cradle's URLs plus a bare insert endpoint that is never part of the product)."""

from cradle.site.settings import *  # noqa: F403

ROOT_URLCONF = "api_load_urls"
