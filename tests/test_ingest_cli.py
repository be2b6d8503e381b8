"""The command line: `dept create-key`, and `ingest --department CODE FILE` (the API's path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from models.department_key import DepartmentKey
from models.ingest_batch import IngestBatch
from models.record import Record
from services.accounts.department_keys import authenticate_department
from tests.conftest import REDIS_URL
from tests.test_ingest_support import SAMR, csv_text, make_enterprises, record_row

ROOT = Path(__file__).resolve().parent.parent


def _run(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "YUCREDIT_SECRETS_FILE": str(tmp_path / "secrets.env"),
    }
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


async def test_dept_create_key_prints_a_working_key_once(db, database_url, tmp_path):
    out = _run(database_url, tmp_path, "dept", "create-key", SAMR, "--label", "夜间导出")
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    assert key.startswith("yc_samr_")
    assert (await authenticate_department(key)).code == SAMR
    assert (await DepartmentKey.get()).label == "夜间导出"
    refused = _run(database_url, tmp_path, "dept", "create-key", "nope")
    assert refused.returncode == 2 and "nope" in refused.stderr


async def test_ingest_loads_a_gbk_csv_with_a_progress_bar(db, database_url, tmp_path):
    usccs = await make_enterprises(3)
    rows = [record_row(usccs[i % 3], f"H-{i:03d}") for i in range(30)]
    rows.append(record_row("bad", "H-bad"))
    path = tmp_path / "历史数据.csv"
    path.write_bytes(csv_text(rows).encode("gbk"))
    out = _run(database_url, tmp_path, "ingest", "--department", SAMR, str(path))
    assert out.returncode == 0, out.stderr
    assert "新增 30" in out.stdout and "拒收 1" in out.stdout
    assert "第 32 行 [invalid_uscc]" in out.stdout
    assert "导入 samr" in out.stderr  # tqdm draws on stderr
    assert await Record.filter(source_ref__startswith="H-").count() == 30
    batch = await IngestBatch.get()
    assert (batch.channel, batch.encoding, batch.status) == ("cli", "gb18030", "done")


async def test_ingest_refuses_a_file_it_cannot_read_and_writes_nothing(db, database_url, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b'uscc,domain,kind\n"unterminated')
    out = _run(database_url, tmp_path, "ingest", "--department", SAMR, str(path))
    assert out.returncode == 2
    assert "错误" in out.stderr
    assert not await Record.exists()
