"""What the operators' endpoints read: when each periodic job last ran, and running totals the
workers add to (Prometheus counters must survive restarts and add up across machines, so they
live in the database, one UPDATE per batch of work)."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last time a periodic job (the dispatcher) finished a run."""

    name = models.CharField(max_length=64, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"


class MetricTotal(models.Model):
    """A monotonic total (link checks made, notices sent, ...), added to atomically."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
