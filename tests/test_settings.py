"""Settings helpers, the bootstrap's Python finder, the admin login and `manage.py runall`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    cache_from_url,
    database_from_url,
    envbool,
    envint,
    envintlist,
    envjson,
    mailer_from_url,
    networklist,
    proxy_ssl_header,
)
from config.settings import VAR_DIR

ROOT = Path(__file__).resolve().parents[1]
FIND_PYTHON = ROOT / "scripts" / "find-python"

# --- env helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
    ],
)
def test_envbool_known_words(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("TD_TEST_FLAG", raw)
    assert envbool("TD_TEST_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", [None, ""])
def test_envbool_unset_or_empty_gives_default(
    monkeypatch: pytest.MonkeyPatch, raw: str | None
) -> None:
    if raw is None:
        monkeypatch.delenv("TD_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("TD_TEST_FLAG", raw)
    assert envbool("TD_TEST_FLAG", True) is True
    assert envbool("TD_TEST_FLAG", False) is False


@pytest.mark.parametrize("raw", ["2", "maybe", "y", " true"])
def test_envbool_unknown_value_raises(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TD_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^TD_TEST_FLAG must be a boolean"):
        envbool("TD_TEST_FLAG")


def test_envint_parses_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TD_TEST_INT", "-42")
    assert envint("TD_TEST_INT", 7) == -42
    monkeypatch.setenv("TD_TEST_INT", "")
    assert envint("TD_TEST_INT", 7) == 7
    monkeypatch.delenv("TD_TEST_INT")
    assert envint("TD_TEST_INT", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "0x10"])
def test_envint_non_integer_raises(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TD_TEST_INT", raw)
    with pytest.raises(
        ImproperlyConfigured, match=re.escape(f"TD_TEST_INT must be an integer, not '{raw}'")
    ):
        envint("TD_TEST_INT", 0)


def test_envjson_parses_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TD_TEST_JSON", '{"de": "whois.denic.de", "ports": [43]}')
    assert envjson("TD_TEST_JSON", {}) == {"de": "whois.denic.de", "ports": [43]}
    monkeypatch.delenv("TD_TEST_JSON")
    assert envjson("TD_TEST_JSON", {"x": 1}) == {"x": 1}


def test_envjson_invalid_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TD_TEST_JSON", "{de: whois.denic.de}")
    with pytest.raises(ImproperlyConfigured, match=r"^TD_TEST_JSON must be JSON: "):
        envjson("TD_TEST_JSON", {})


# --- behind a reverse proxy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP_X_FORWARDED_PROTO=https", ("HTTP_X_FORWARDED_PROTO", "https")),
        (" http_x_forwarded_ssl = on ", ("HTTP_X_FORWARDED_SSL", "on")),
        ("", None),
    ],
)
def test_proxy_ssl_header_parses_header_and_value(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: tuple[str, str] | None
) -> None:
    monkeypatch.setenv("TD_TEST_PROXY", raw)
    assert proxy_ssl_header("TD_TEST_PROXY") == expected


def test_proxy_ssl_header_unset_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TD_TEST_PROXY", raising=False)
    assert proxy_ssl_header("TD_TEST_PROXY") is None


@pytest.mark.parametrize(
    "raw",
    ["HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PROTO=", "X-Forwarded-Proto=https", "HTTP_=1"],
)
def test_proxy_ssl_header_malformed_raises(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TD_TEST_PROXY", raw)
    with pytest.raises(
        ImproperlyConfigured,
        match=re.escape(
            "TD_TEST_PROXY must look like HTTP_X_FORWARDED_PROTO=https (the header as Django's "
            f"request.META names it, '=', the value meaning HTTPS), not '{raw}'"
        ),
    ):
        proxy_ssl_header("TD_TEST_PROXY")


def test_networklist_accepts_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TD_TEST_NETS", "10.0.0.5, 172.16.0.0/12,fd00::1, 192.168.1.7/24")
    assert networklist("TD_TEST_NETS") == [
        "10.0.0.5/32",
        "172.16.0.0/12",
        "fd00::1/128",
        "192.168.1.0/24",
    ]
    monkeypatch.setenv("TD_TEST_NETS", "")
    assert networklist("TD_TEST_NETS") == []


@pytest.mark.parametrize("raw", ["proxy.internal", "10.0.0.0/33", "10.0.0.1:8080"])
def test_networklist_non_address_raises(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TD_TEST_NETS", f"10.0.0.5,{raw}")
    with pytest.raises(
        ImproperlyConfigured,
        match=re.escape(
            f"TD_TEST_NETS must list IP addresses or networks (10.0.0.5, 10.0.0.0/8), not '{raw}'"
        ),
    ):
        networklist("TD_TEST_NETS")


# --- database_from_url ------------------------------------------------------------------------


def test_database_from_url_postgres_with_everything() -> None:
    url = "postgres://td%40user:p%3Ass%2Fw@db.internal:6543/take%20down?sslmode=require&connect_timeout=5"
    assert database_from_url(url, VAR_DIR / "takedown.sqlite3") == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "take down",
        "USER": "td@user",
        "PASSWORD": "p:ss/w",
        "HOST": "db.internal",
        "PORT": "6543",
        "OPTIONS": {"options": "-c jit=off", "sslmode": "require", "connect_timeout": "5"},
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_database_from_url_postgres_minimal(scheme: str) -> None:
    config = database_from_url(f"{scheme}://127.0.0.1/takedown_ci", VAR_DIR / "takedown.sqlite3")
    assert (config["ENGINE"], config["NAME"], config["HOST"]) == (
        "django.db.backends.postgresql",
        "takedown_ci",
        "127.0.0.1",
    )
    assert (config["USER"], config["PASSWORD"], config["PORT"], config["OPTIONS"]) == (
        "",
        "",
        "",
        {"options": "-c jit=off"},
    )


def test_database_from_url_postgres_user_without_password() -> None:
    config = database_from_url(
        "postgres://postgres@127.0.0.1:5432/takedown_ci", VAR_DIR / "takedown.sqlite3"
    )
    assert (config["USER"], config["PASSWORD"], config["PORT"]) == ("postgres", "", "5432")


@pytest.mark.parametrize(
    ("url", "relative_path"),
    [
        ("sqlite:///var/db.sqlite3", "var/db.sqlite3"),
        ("sqlite:///my%20data/db.sqlite3", "my data/db.sqlite3"),
    ],
)
def test_database_from_url_sqlite_relative_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, relative_path: str
) -> None:
    # The helper creates the database's folder, so work in a scratch directory.
    monkeypatch.chdir(tmp_path)
    config = database_from_url(url, VAR_DIR / "takedown.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == Path(relative_path)
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert (tmp_path / relative_path).parent.is_dir()


def test_database_from_url_sqlite_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "data dir" / "db.sqlite3"
    config = database_from_url("sqlite:///" + str(path).replace(" ", "%20"), tmp_path / "unused")
    assert config["NAME"] == path
    assert path.parent.is_dir()


def test_database_from_url_sqlite_without_path_uses_the_default(tmp_path: Path) -> None:
    default = tmp_path / "var" / "takedown.sqlite3"
    assert database_from_url("sqlite://", default)["NAME"] == default
    assert default.parent.is_dir()


@pytest.mark.parametrize("url", ["mysql://root@localhost/takedown", "db.sqlite3"])
def test_database_from_url_unsupported_scheme_raises(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL: unsupported scheme"):
        database_from_url(url, VAR_DIR / "takedown.sqlite3")


def test_envintlist_parses_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TD_TEST_PORTS", raising=False)
    assert envintlist("TD_TEST_PORTS", "80,443") == [80, 443]
    monkeypatch.setenv("TD_TEST_PORTS", " 8080 , ,8443")
    assert envintlist("TD_TEST_PORTS", "80,443") == [8080, 8443]


def test_envintlist_non_integer_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TD_TEST_PORTS", "80,http")
    with pytest.raises(
        ImproperlyConfigured,
        match=re.escape("TD_TEST_PORTS must be comma-separated integers, not '80,http'"),
    ):
        envintlist("TD_TEST_PORTS", "80,443")


def test_mailer_from_url_smtps_with_credentials() -> None:
    assert mailer_from_url("smtps://td%40org:p%3Ass@mail.example:2465?timeout=7") == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "mail.example",
            "port": 2465,
            "username": "td@org",
            "password": "p:ss",
            "use_ssl": True,
            "use_tls": False,
            "timeout": 7,
        },
    }


@pytest.mark.parametrize("url", ["", "http://mail.example/", "mail.example:25"])
def test_mailer_from_url_unsupported_scheme_raises(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^EMAIL_URL: unsupported scheme"):
        mailer_from_url(url)


def test_cache_from_url_redis_and_per_process_default() -> None:
    assert cache_from_url("C", "redis://127.0.0.1:6379/3") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
    }
    assert cache_from_url("C", "") == {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "takedown",
    }


def test_cache_from_url_other_scheme_raises() -> None:
    with pytest.raises(
        ImproperlyConfigured,
        match=re.escape("C must be a redis://, rediss:// or unix:// URL, not 'memcached://x'"),
    ):
        cache_from_url("C", "memcached://x")


# --- config/settings.py: the one place of every default ------------------------------------------


def test_settings_without_environment_hold_the_documented_defaults(tmp_path: Path) -> None:
    # Modules read these as settings.X with no default of their own, so the defaults from the
    # README's configuration table must come from settings.py.
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAKEDOWN_", "CELERY_", "DATABASE_", "EMAIL_"))
        and key != "DJANGO_SETTINGS_MODULE"
    }
    environ["TAKEDOWN_VAR_DIR"] = str(tmp_path)
    code = (
        "import json, config.settings as s; print(json.dumps([s.TAKEDOWN_RDAP_BOOTSTRAP, "
        "str(s.TAKEDOWN_RDAP_CACHE_DIR), s.TAKEDOWN_RDAP_TIMEOUT, s.TAKEDOWN_DNS_TIMEOUT, "
        "s.TAKEDOWN_FETCH_PORTS, s.TAKEDOWN_FETCH_MAX_BYTES, s.TAKEDOWN_FETCH_DEADLINE, "
        "s.TAKEDOWN_FETCH_ALLOWED_ENDPOINTS, s.TAKEDOWN_WHOIS_SERVER, s.TAKEDOWN_WHOIS_SERVERS, "
        "s.TAKEDOWN_ALLOW_PRIVATE_NETWORK, s.TAKEDOWN_RECHECK_AFTER_REMOVAL, "
        "s.MAILERS['default']['OPTIONS'], s.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'], "
        "str(s.DATABASES['default']['NAME']), s.DATABASES['default']['ENGINE']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(out.stdout) == [
        "https://data.iana.org/rdap/",
        str(tmp_path / "rdap-bootstrap"),
        10,
        5,
        [80, 443],
        25 * 1024 * 1024,
        30.0,
        [],
        "",
        {},
        False,
        "7:30,30:180",
        {"file_path": str(tmp_path / "outbox")},
        str(tmp_path / "celery" / "queue"),
        str(tmp_path / "takedown.sqlite3"),
        "django.db.backends.sqlite3",
    ]
    assert (tmp_path / "celery" / "control").is_dir()


# --- scripts/find-python ----------------------------------------------------------------------


def run_find_python(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(FIND_PYTHON)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_find_python_honours_python_override() -> None:
    result = run_find_python({**os.environ, "PYTHON": sys.executable})
    assert (result.returncode, result.stdout, result.stderr) == (0, sys.executable + "\n", "")


def test_find_python_rejects_old_python_from_override() -> None:
    candidates = [shutil.which("python3.11"), "/usr/bin/python3.11"]
    old = next((c for c in candidates if c and Path(c).exists()), None)
    if old is None:
        pytest.skip("no python3.11 on this machine to stand in for a too-old Python")
    result = run_find_python({**os.environ, "PYTHON": old})
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"PYTHON={old} is not usable: it is Python 3.11." in result.stderr
    assert "pyenv install 3.13" in result.stderr


def test_find_python_rejects_override_that_cannot_run(tmp_path: Path) -> None:
    result = run_find_python({**os.environ, "PYTHON": str(tmp_path / "no-such-python")})
    assert result.returncode == 1
    assert "is not usable: it cannot be run." in result.stderr


@pytest.fixture
def bare_path() -> str:
    """A PATH with the shell tools but, on this machine, no Python 3.12+ of the system's own."""
    path = "/usr/bin:/bin"
    system = [
        f"{folder}/python{version}"
        for folder in ("/usr/bin", "/bin", "/usr/local/bin")
        for version in ("3.12", "3.13")
    ]
    found = [p for p in system if Path(p).exists()]
    if found:
        pytest.skip(f"the system itself has a suitable Python: {found[0]}")
    if shutil.which("uv", path=path):
        pytest.skip("uv is installed system-wide and may know a suitable Python")
    if (
        subprocess.run(
            ["python3", "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
            env={"PATH": path},
            capture_output=True,
            check=False,
        ).returncode
        == 0
    ):
        pytest.skip("the system python3 is already 3.12 or newer")
    return path


def test_find_python_prefers_newest_pyenv_313(tmp_path: Path, bare_path: str) -> None:
    versions = tmp_path / "pyenv" / "versions"
    for version in ("3.12.9", "3.13.1", "3.13.10", "3.13.11t"):
        (versions / version / "bin").mkdir(parents=True)
        (versions / version / "bin" / "python").symlink_to(sys.executable)
    env = {"PATH": bare_path, "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    result = run_find_python(env)
    assert (result.returncode, result.stdout) == (0, f"{versions}/3.13.10/bin/python\n")


def test_find_python_none_found_explains_what_to_install(tmp_path: Path, bare_path: str) -> None:
    env = {"PATH": bare_path, "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    result = run_find_python(env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("find-python: no Python 3.12 or newer found")
    assert "pyenv install 3.13" in result.stderr
    assert "PYTHON=/path/to/python3.13 make run" in result.stderr


# --- the embedded defaults end to end: admin login and runall (subprocesses, SQLite) ----------


def embedded_env(var_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL")
    }
    return {**env, "TAKEDOWN_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.settings"}


@pytest.fixture(scope="module")
def migrated_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var_dir = tmp_path_factory.mktemp("var")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=embedded_env(var_dir),
        check=True,
        timeout=120,
    )
    return var_dir


@pytest.mark.smoke
def test_ensure_admin_creates_login_once_and_keeps_it(migrated_var: Path) -> None:
    def ensure() -> str:
        return subprocess.run(
            [sys.executable, "scripts/ensure_admin.py"],
            cwd=ROOT,
            env=embedded_env(migrated_var),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout

    first = ensure()
    password_file = migrated_var / "admin-password"
    password = password_file.read_text().strip()
    assert len(password) == 20
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert first == f"Admin login: username admin  password {password}\n"
    assert ensure() == first
    assert password_file.read_text().strip() == password


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def start_runall(migrated_var: Path, tmp_path: Path) -> Iterator[Callable[..., tuple]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"runall-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "runall", "--grace", "15", *args],
                cwd=ROOT,
                env=embedded_env(migrated_var),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(predicate: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; output:\n{log.read_text()}")
        time.sleep(0.2)


def http_status(url: str) -> int:
    # No proxies: the request must go straight to the local server.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status
    except OSError:
        return 0


def child_pids(output: str) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output)}


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.smoke
def test_runall_serves_and_stops_everything_on_ctrl_c(start_runall: Callable[..., tuple]) -> None:
    port = free_port()
    process, log = start_runall("--port", str(port))

    wait_for(
        lambda: http_status(f"http://127.0.0.1:{port}/admin/login/") == 200, 60, "the web app", log
    )
    wait_for(lambda: re.search(r"^worker \| .* ready\.$", log.read_text(), re.M), 60, "worker", log)
    wait_for(lambda: "beat   | " in log.read_text(), 60, "beat", log)
    # Static files are served too, so the admin is usable.
    assert http_status(f"http://127.0.0.1:{port}/static/admin/css/base.css") == 200

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    output = log.read_text()
    assert "runall | SIGINT received: stopping all\n" in output
    assert output.endswith("runall | all stopped\n")
    pids = child_pids(output)
    assert sorted(pids) == ["beat", "web", "worker"]
    assert [name for name, pid in pids.items() if is_running(pid)] == []


@pytest.mark.smoke
def test_runall_stops_the_others_when_one_dies(start_runall: Callable[..., tuple]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # The web server cannot bind the port and exits; the worker must not be left running.
        process, log = start_runall("--port", str(port), "--no-beat")
        assert process.wait(timeout=60) == 1

    output = log.read_text()
    assert "runall | web exited with code 1: stopping the others\n" in output
    assert output.endswith("runall | all stopped\n")
    pids = child_pids(output)
    assert sorted(pids) == ["web", "worker"]
    assert not is_running(pids["worker"])


def test_runall_with_a_sandbox_port_taken_says_so_without_a_traceback() -> None:
    import socket

    from django.core.management import CommandError, call_command

    from takedown.sandbox.world import DEFAULT_PORTS

    blocker = socket.socket()
    try:
        # The image host starts first, so nothing else of the sandbox is running yet.
        blocker.bind(("127.0.0.1", DEFAULT_PORTS["http"]))
        blocker.listen()
    except OSError:
        pass  # taken by something else: just as good for this test
    try:
        taken = r"a port of the sandbox \(smtp 8025, .*http 8080.*\) is taken"
        with pytest.raises(CommandError, match=taken):
            call_command("runall", "--sandbox", "--no-worker", "--no-beat")
    finally:
        blocker.close()
