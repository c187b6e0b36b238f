from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.utils import translation

from takedown import crypto

pytest_plugins = ["tests.sandbox_fixtures", "tests.browser"]

SHARED_DIR = Path(
    os.environ.get("TAKEDOWN_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared")
)
SHARED_DATA = SHARED_DIR / "data"
LAION_SAMPLE = SHARED_DATA / "laion-sample-1000.parquet"


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll until `condition()` holds (for work done by a Celery worker thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def purge_queues(app: Any) -> None:
    """Empty every queue of the project (settings.TAKEDOWN_QUEUES) on the app's broker."""
    from django.conf import settings

    with app.connection_for_write() as connection:
        for queue in settings.TAKEDOWN_QUEUES:
            connection.default_channel.queue_declare(queue)
            connection.default_channel.queue_purge(queue)


@contextmanager
def celery_worker(django_db_blocker: Any = None) -> Iterator[None]:
    """A real Celery worker (two threads) on the test broker: Redis where CELERY_BROKER_URL is
    one (CI), else Kombu's memory transport; the queue is emptied first, so nothing another
    test left in a shared Redis database reaches it. `django_db_blocker`, for module-scoped
    workers: the worker's Django fixup touches the database as it starts and stops."""
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from config.celery import app

    broker = settings.CELERY_BROKER_URL
    previous = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url = broker if broker.startswith("redis") else "memory://"
    app.conf.task_always_eager = False
    try:
        purge_queues(app)
        with ExitStack() as stack:
            if django_db_blocker is not None:
                stack.enter_context(django_db_blocker.unblock())
            stack.enter_context(
                start_worker(
                    app,
                    pool="threads",
                    concurrency=2,
                    perform_ping_check=False,
                    queues=list(settings.TAKEDOWN_QUEUES),
                )
            )
            yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous


def shared_file(path: Path) -> Path:
    """A file from ../shared/data, or skip the test with the reason."""
    if not path.exists():
        pytest.skip(f"needs {path} (../shared beside the checkout, or TAKEDOWN_SHARED_DIR)")
    return path


@pytest.fixture(scope="session", autouse=True)
def in_memory_broker() -> None:
    """Without Redis, messages a test sends stay in this process (Kombu's memory transport)
    instead of files under var/; the worker tests start their worker on the same broker."""
    from django.conf import settings

    from config.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        app.conf.broker_url = "memory://"


@pytest.fixture(autouse=True)
def fresh_throttle() -> Iterator[None]:
    """Server blocks and slots live in Redis when it is the broker; no test may see another's."""
    yield
    from takedown.resolve import throttle

    throttle.forget_redis_state()


@pytest.fixture(autouse=True)
def job_files(settings: Any, tmp_path: Path) -> Path:
    """Each test's uploads and rendered files for background jobs in its own folder."""
    settings.TAKEDOWN_JOB_FILES_DIR = tmp_path / "jobs"
    return settings.TAKEDOWN_JOB_FILES_DIR


@pytest.fixture(autouse=True)
def english_after_each_test() -> Iterator[None]:
    """A request leaves its language active in the thread (LocaleMiddleware and the staff's
    own choice activate it; nothing deactivates it): a German page in one test must not turn
    the next test's refusals German."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def field_keys(settings: pytest.FixtureRequest) -> Iterator[list[str]]:
    """A fresh encryption key per test, so no test depends on a key file under var/."""
    keys = [Fernet.generate_key().decode()]
    settings.FIELD_ENCRYPTION_KEYS = keys
    crypto.reset_keys()
    yield keys
    crypto.reset_keys()


@pytest.fixture(autouse=True)
def two_factor_off(settings: Any) -> None:
    """Most tests sign users in directly (force_login) and are about something else; the
    two-factor tests (tests/test_twofactor.py) turn it back on. Production refuses it off."""
    settings.TAKEDOWN_TWO_FACTOR = False


class _RealApps:
    """The app registry as migration 0005's create_groups sees it, minus the permission step
    (done beforehand on the real registry, which that step must not modify)."""

    @staticmethod
    def get_model(app_label: str, model_name: str) -> Any:
        return apps.get_model(app_label, model_name)

    @staticmethod
    def get_app_configs() -> list[Any]:
        return []


@pytest.fixture
def roles(transactional_db: None) -> None:
    """The role groups (caseworker, reviewer, admin) as migration 0005 creates them. An earlier
    transactional test's flush removes them, and serialized_rollback did not bring them back
    in every test order, so they are made again here (idempotent)."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    importlib.import_module("takedown.migrations.0005_web").create_groups(_RealApps(), None)
