"""Fixtures for the ADBC driver tests: the driver found by name through a
manifest (as `dbc install` would place it), and the databases to reach."""

import os
import pathlib

import pytest

LIB = os.environ.get("DRIVERBOX_ADBC_LIB")
PG_URL = os.environ.get("DRIVERBOX_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def manifest_dir(tmp_path_factory):
    """A directory holding driverbox.toml, put on ADBC_DRIVER_PATH."""
    assert LIB and pathlib.Path(LIB).exists(), f"DRIVERBOX_ADBC_LIB does not name the built driver: {LIB!r}"
    d = tmp_path_factory.mktemp("adbc-manifests")
    (d / "driverbox.toml").write_text(
        "manifest_version = 1\n"
        'name = "driverbox"\n'
        'version = "0.1.0"\n'
        "[Driver]\n"
        'entrypoint = "AdbcDriverDriverboxInit"\n'
        "[Driver.shared]\n"
        f'linux_amd64 = "{LIB}"\n'
    )
    os.environ["ADBC_DRIVER_PATH"] = str(d)
    return d


@pytest.fixture
def connect(manifest_dir):
    """connect(uri, **kw): a DB-API connection through the driver manager,
    loading the driver by its name."""
    from adbc_driver_manager import dbapi

    opened = []

    def open_(uri, **kw):
        conn = dbapi.connect(driver="driverbox", db_kwargs={"uri": uri}, **kw)
        opened.append(conn)
        return conn

    yield open_
    for c in opened:
        try:
            c.close()
        except Exception:
            pass


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:{tmp_path / 'adbc.db'}"


MARIADB_URL = os.environ.get("DRIVERBOX_TEST_MYSQL_URL", "mariadb://root@127.0.0.1:3306/test")


@pytest.fixture(scope="session")
def mongodb_url(tmp_path_factory):
    """A throwaway SecantusDB (MongoDB wire protocol) on a free port, from
    the `.venv-mongo` that scripts/setup.sh makes."""
    import socket
    import subprocess
    import time

    root = pathlib.Path(__file__).resolve().parents[2]
    server = root / ".venv-mongo" / "bin" / "secantusd-py"
    assert server.exists(), f"{server} is missing: run scripts/setup.sh tests"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = tmp_path_factory.mktemp("mongo")
    log = open(d / "server.log", "wb")
    proc = subprocess.Popen(
        [str(server), "--host", "127.0.0.1", "--port", str(port), "--standalone", "--storage-path", str(d / "data")],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, (d / "server.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "secantusd-py did not start"
            time.sleep(0.1)
    yield f"mongodb://127.0.0.1:{port}/adbc"
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
