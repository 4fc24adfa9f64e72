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
