"""A per-process circuit breaker: after a dependency timed out (a stalled server; a refused connection
costs nothing to find out), calls to it fail at once for a few seconds instead of each waiting out the
timeout, so a stall costs a server worker one timeout per window, not one per request, and the routes
that do not need that dependency keep their rate."""

import time


class Breaker:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.open_until = 0.0

    @property
    def open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + self.seconds
