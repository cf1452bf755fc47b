"""The embedded stack's DSN: Postgres' Unix-domain socket when its path fits, loopback TCP otherwise."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from deploy.infra import UNIX_SOCKET_PATH_MAX, database_address, database_url, postgres_socket


def test_the_socket_directory_stands_where_the_host_goes_and_the_database_stays_last() -> None:
    url = database_url(Path("/srv/lentur state/.lentur/pgsock"), 54321)
    parts = urlsplit(url)
    assert unquote(parts.hostname or "") == "/srv/lentur state/.lentur/pgsock"
    assert parts.port == 54321 and parts.username == "postgres" and parts.path == "/lentur"
    # the rest of the code base names another database by replacing the URL's last part
    assert url.rsplit("/", 1)[0] + "/postgres" == url.replace("/lentur", "/postgres")


def test_a_socket_path_the_kernel_cannot_hold_falls_back_to_loopback_tcp() -> None:
    deep = Path("/tmp") / ("d" * (UNIX_SOCKET_PATH_MAX - 20)) / "pgsock"
    assert postgres_socket(deep, 54321) is None
    assert database_url(deep, 54321) == "postgresql://postgres@127.0.0.1:54321/lentur"
    short = Path("/tmp/x/pgsock")
    assert postgres_socket(short, 54321) == short / ".s.PGSQL.54321"


def test_a_client_that_takes_the_url_apart_gets_the_socket_directory_back_as_written() -> None:
    socket_dir = Path("/srv/Lentur State/.lentur/pgsock")
    assert database_address(database_url(socket_dir, 5433)) == ("postgres", str(socket_dir), 5433, "lentur")
    assert database_address("postgresql://postgres@127.0.0.1:5433/t_1") == ("postgres", "127.0.0.1", 5433, "t_1")
