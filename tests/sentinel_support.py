"""A Redis master, its replica and three sentinels of the test's own, on free local ports."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis

SERVICE = "yucredit"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SentinelTopology:
    """Started with start(), torn down with stop(); kill_master() is the outage."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.master_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def _server(self, name: str, port: int, *extra: str) -> None:
        workdir = self.directory / name
        workdir.mkdir(parents=True, exist_ok=True)
        args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
        args += ["--save", "", "--appendonly", "no", *extra]
        self.processes[name] = subprocess.Popen(["redis-server", *args], stdout=subprocess.DEVNULL)

    def _sentinel(self, index: int, port: int) -> None:
        conf = self.directory / f"sentinel-{index}.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 10000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self.processes[f"sentinel-{index}"] = subprocess.Popen(
            ["redis-sentinel", str(conf)], stdout=subprocess.DEVNULL
        )

    def start(self) -> None:
        self._server("master", self.master_port)
        self._server("replica", self.replica_port, "--replicaof", "127.0.0.1",
                     str(self.master_port))  # fmt: skip
        for index, port in enumerate(self.sentinel_ports):
            self._sentinel(index, port)
        self._wait(self._replicating, "the replica is in sync")
        self._wait(self._sentinels_see_the_replica, "every sentinel knows the replica")

    def _wait(self, check: object, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if check():  # type: ignore[operator]
                    return
            except redis.RedisError:
                pass
            assert time.monotonic() < deadline, f"timed out waiting until {what}"
            time.sleep(0.1)

    def _replicating(self) -> bool:
        client = redis.Redis(port=self.replica_port, socket_timeout=1)
        try:
            return client.info("replication").get("master_link_status") == "up"
        finally:
            client.close()

    def _sentinels_see_the_replica(self) -> bool:
        for port in self.sentinel_ports:
            client = redis.Redis(port=port, socket_timeout=1, decode_responses=True)
            try:
                if not client.sentinel_slaves(SERVICE):
                    return False
                if len(client.sentinel_sentinels(SERVICE)) < 2:
                    return False
            finally:
                client.close()
        return True

    def kill_master(self) -> None:
        process = self.processes.pop("master")
        process.kill()
        process.wait(5)

    def master_port_now(self) -> int:
        client = redis.Redis(port=self.sentinel_ports[0], socket_timeout=1)
        try:
            return int(client.sentinel_get_master_addr_by_name(SERVICE)[1])
        finally:
            client.close()

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
        for process in self.processes.values():
            process.wait(5)
        self.processes.clear()
