"""Locust users for ``bench/bench_api_load.py``: agency systems submitting contacts.

Run by the benchmark (``locust -f bench/locustfile_api.py --headless ...``), configured by
its environment:

- ``BENCH_API_PATH``: ``/api/contacts`` (the product) or ``/bench/bare-contact`` (the
  baseline); ``BENCH_API_TOKEN``: the system's bearer token.
- ``BENCH_API_FAMILIES`` families whose people were sent first with source ids
  ``<BENCH_API_PREFIX>b<i>`` (the baby) and ``<BENCH_API_PREFIX>m<i>`` (the mother).
- ``BENCH_API_PACE``: submissions a second per client (``constant_throughput``); 0 sends
  the next as soon as the last is answered.
- ``BENCH_API_RECORD``: a JSON file written at the end: the source ids answered 200 (the
  benchmark checks that every one of them is in the database) and every request's start
  time, response time in ms and success (the benchmark's exact percentiles and rate; the
  ``--csv`` files are snapshots taken each second, before the last requests end).

Every submission has its own source id (``<BENCH_API_PREFIX>c<n>``): each is a new contact.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from datetime import date, timedelta
from pathlib import Path

from locust import FastHttpUser, constant, constant_throughput, events, task

PATH = os.environ.get("BENCH_API_PATH", "/api/contacts")
TOKEN = os.environ.get("BENCH_API_TOKEN", "")
FAMILIES = int(os.environ.get("BENCH_API_FAMILIES", "50"))
PREFIX = os.environ.get("BENCH_API_PREFIX", "load-")
PACE = float(os.environ.get("BENCH_API_PACE", "0"))
RECORD = os.environ.get("BENCH_API_RECORD", "")
TODAY = date.today()
KINDS = (
    ("home_visit", "home_visit", "attended"),
    ("home_visit", "home_visit", "no_access"),
    ("clinic_contact", "clinic", "attended"),
    ("gp_appointment", "clinic", "attended"),
    ("gp_appointment", "clinic", "was_not_brought"),
)

_numbers = itertools.count()
_rng = random.Random(7)
acked: list[str] = []
timings: list[tuple[float, float, bool]] = []


class AgencySystem(FastHttpUser):
    wait_time = constant_throughput(PACE) if PACE > 0 else constant(0)
    network_timeout = 20.0
    connection_timeout = 20.0

    def on_start(self):
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    @task
    def submit_contact(self):
        n = next(_numbers)
        i = _rng.randrange(FAMILIES)
        kind, channel, outcome = KINDS[n % len(KINDS)]
        baby, mother = f"{PREFIX}b{i}", f"{PREFIX}m{i}"
        body = {
            "source_id": f"{PREFIX}c{n}",
            "kind": kind,
            "occurred_on": str(TODAY - timedelta(days=1 + n % 60)),
            "outcome": outcome,
            "channel": channel,
            "subjects": [baby, mother],
            "seen": [baby, mother] if outcome == "attended" else [],
            "findings": ["persistent_crying"] if n % 23 == 0 else [],
        }
        with self.client.post(
            PATH, json=body, headers=self.headers, name=PATH, catch_response=True
        ) as response:
            if response.status_code == 200:
                acked.append(body["source_id"])
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")


@events.request.add_listener
def _timed(response_time, exception, start_time=None, **_kwargs):
    timings.append((start_time or 0.0, response_time, exception is None))


@events.quitting.add_listener
def _write_record(environment, **_kwargs):
    if RECORD:
        Path(RECORD).write_text(json.dumps({"acked": acked, "requests": timings}), "utf-8")
