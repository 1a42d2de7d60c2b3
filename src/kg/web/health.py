"""/health: whether this server answers queries now, for a load balancer's health checks.

200 ``{"status": "ok", "build": <identity>}`` when the engine evaluated a trivial
query just now; 503 ``{"status": "unavailable", "reason": …}`` when it could not
(the query processes are gone, or all stayed busy past ``queue_wait``). The build's
identity lets an operator see that every replica behind the balancer serves the
same data (their ETags agree only then). Never cached by clients: a stored "ok"
would keep a dead replica in the pool; a probe's outcome is reused for one second.
"""

from __future__ import annotations

import threading
import time

from flask import Blueprint, Response, current_app, jsonify

from kg.engine import TSV
from kg.errors import KGError
from kg.execute import Job
from kg.web.answers import engine

bp = Blueprint("health", __name__)

# The cheapest query there is: it reads no data. It still goes to a query process, so an answer
# means the processes are there and one was free within ``queue_wait``.
PROBE = Job(query="ASK {}", results=TSV, graph=None)
# The endpoint is public: a probe's outcome stands for this long, so that a flood of /health
# requests costs one query a second, not one each (a balancer checks every second or slower).
REUSE_SECONDS = 1.0
_LOCK = threading.Lock()


@bp.get("/health")  # Flask answers HEAD from it too (checks that read only the status)
def health() -> Response:
    with _LOCK:  # one probe at a time per process; the others wait and take its outcome
        last = current_app.extensions.get("kg_health")
        if last is None or time.monotonic() - last[0] >= REUSE_SECONDS:
            last = (time.monotonic(), *_probe())
            current_app.extensions["kg_health"] = last
    return _answer(last[1], last[2])


def _probe() -> tuple[int, dict]:
    found = engine()
    try:
        # fresh: evaluated again, never answered from the result cache, which would vouch for
        # a dead engine. No client_id: a check takes none of its address's per-client query
        # slots, which the balancer's address shares with every visitor it forwards.
        found.run(PROBE, fresh=True)
    except KGError as exc:
        return 503, {"status": "unavailable", "reason": exc.message}
    return 200, {"status": "ok", "build": found.kg.identity}


def _answer(status: int, body: dict) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
