"""The heartbeat of a running job: how a redelivered job knows a live worker has it."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from leaderboard.submissions import lifecycle

log = logging.getLogger("glew.worker")


class Heartbeat(threading.Thread):
    """Tells the database, every few seconds, that this worker still runs the job.

    A job delivered twice (broker redelivery, requeue sweep) then waits instead of
    running the same evaluation beside it; once this worker dies the beats stop and
    the redelivered job takes over.
    """

    def __init__(self, evaluation_id: int) -> None:
        super().__init__(name=f"heartbeat-{evaluation_id}", daemon=True)
        self.evaluation_id = evaluation_id
        self.stopped = threading.Event()

    def run(self) -> None:
        from django.db import connection

        interval = max(1.0, settings.GLEW_HEARTBEAT_STALE_S / 4)
        try:
            while not self.stopped.wait(interval):
                try:
                    lifecycle.evaluation_heartbeat(evaluation_id=self.evaluation_id)
                except Exception:  # noqa: BLE001 - a database blip skips one beat
                    log.warning("heartbeat of evaluation %s failed", self.evaluation_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)
        try:
            lifecycle.evaluation_heartbeat(
                evaluation_id=self.evaluation_id, alive=False
            )
        except Exception:  # noqa: BLE001 - the stale beat ages out by itself
            log.warning("could not release evaluation %s", self.evaluation_id)
