"""The real `pbx` command in a subprocess, against the session's test database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_SCRIPT = Path(sys.executable).parent / "pbx"
PBX = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "pbx.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def env(db_dsn: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("PBX_")}
    e.update(
        DATABASE_URL=db_dsn,
        PBX_SIP_DOMAIN="cli.test",
        PBX_EDGE_HOST="192.0.2.50",
        PBX_EDGE_PORT="5062",
        # Nothing listens here, so `pbx status` finds no running service.
        PBX_HTTP_PORT=str(_free_port()),
    )
    return e


def pbx(env: dict[str, str], tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PBX, *args], env=env, cwd=tmp, capture_output=True, text=True, timeout=60
    )


def ok_json(env: dict[str, str], tmp: Path, *args: str) -> Any:
    r = pbx(env, tmp, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def fails(env: dict[str, str], tmp: Path, *args: str) -> str:
    r = pbx(env, tmp, *args)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return r.stderr


def test_provisioning_flow(env: dict[str, str], tmp_path: Path) -> None:
    company = ok_json(env, tmp_path, "company", "create", "Acme CLI", "--tz", "Asia/Omsk")
    cid = str(company["id"])
    assert company["sip_domain"] == f"c{cid}.cli.test"
    assert company["timezone"] == "Asia/Omsk"

    emp = ok_json(env, tmp_path, "employee", "add", "--company", cid, "--name", "Anna")
    assert (emp["ext"], emp["login"], emp["domain"]) == ("101", "101", company["sip_domain"])
    assert emp["registrar"] == "192.0.2.50:5062"
    assert len(emp["password"]) == 16
    second = ok_json(
        env, tmp_path, "employee", "add", "--company", cid, "--name", "Boris", "--ext", "250"
    )
    assert second["ext"] == "250"

    listed = ok_json(env, tmp_path, "employee", "list", "--company", cid)
    assert [(e["name"], e["ext"], e["registered"]) for e in listed] == [
        ("Anna", "101", False),
        ("Boris", "250", False),
    ]
    assert all("password" not in e for e in listed)

    reset = ok_json(env, tmp_path, "employee", "reset-password", "--company", cid, "--ext", "101")
    assert reset["login"] == "101" and reset["password"] != emp["password"]

    trunk = ok_json(
        env, tmp_path, "trunk", "add", "--company", cid, "--name", "Main",
        "--host", "sip.carrier.example", "--username", "acme", "--password", "s3cret",
    )  # fmt: skip
    assert (trunk["auth_mode"], trunk["host"], trunk["username"]) == (
        "register",
        "sip.carrier.example",
        "acme",
    )
    assert "password" not in trunk
    ip_trunk = ok_json(
        env, tmp_path, "trunk", "add", "--company", cid, "--name", "Backup",
        "--host", "sip2.carrier.example", "--ip", "203.0.113.1", "203.0.113.2",
    )  # fmt: skip
    assert ip_trunk["ip_addresses"] == ["203.0.113.1", "203.0.113.2"]
    trunks = ok_json(env, tmp_path, "trunk", "list", "--company", cid)
    assert [t["name"] for t in trunks] == ["Main", "Backup"]

    number = ok_json(
        env, tmp_path, "number", "add", "--company", cid, "8 495 200-00-01",
        "--trunk", str(trunk["id"]), "--to", "250",
    )  # fmt: skip
    assert (number["number"], number["target_ext"]) == ("74952000001", "250")
    assert [n["number"] for n in ok_json(env, tmp_path, "number", "list", "--company", cid)] == [
        "74952000001"
    ]
    assert ok_json(env, tmp_path, "calls", "--company", cid, "--limit", "5") == []
    # --json also works before the command.
    r = pbx(env, tmp_path, "--json", "company", "list")
    assert r.returncode == 0, r.stderr
    assert int(cid) in [c["id"] for c in json.loads(r.stdout)]


def test_readable_tables(env: dict[str, str], tmp_path: Path) -> None:
    cid = str(ok_json(env, tmp_path, "company", "create", "Tables")["id"])
    r = pbx(env, tmp_path, "employee", "add", "--company", cid, "--name", "Vera Ivanova")
    assert r.returncode == 0, r.stderr
    assert "password" in r.stdout and "registrar" in r.stdout
    r = pbx(env, tmp_path, "employee", "list", "--company", cid)
    assert r.returncode == 0, r.stderr
    header, row = r.stdout.splitlines()
    assert header.split() == ["id", "name", "ext", "email", "mobile", "enabled", "registered"]
    assert "Vera Ivanova" in row and "101" in row
    r = pbx(env, tmp_path, "number", "list", "--company", cid)
    assert r.stdout.strip() == "(none)"


def test_user_errors_are_one_line_and_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    assert "company 987654 not found" in fails(
        env, tmp_path, "employee", "add", "--company", "987654", "--name", "X"
    )
    assert "unknown time zone" in fails(env, tmp_path, "company", "create", "X", "--tz", "Bad/Zone")
    assert "invalid int value" in fails(env, tmp_path, "employee", "list", "--company", "abc")
    assert "required" in fails(env, tmp_path, "employee", "add", "--company", "1")
    assert "invalid choice" in fails(env, tmp_path, "frobnicate")
    cid = str(ok_json(env, tmp_path, "company", "create", "Errors")["id"])
    assert "2–5 digits" in fails(
        env, tmp_path, "employee", "add", "--company", cid, "--name", "X", "--ext", "7"
    )
    assert "username and a password" in fails(
        env, tmp_path, "trunk", "add", "--company", cid, "--name", "T", "--host", "h.example",
        "--username", "u",
    )  # fmt: skip
    assert "not a possible phone number" in fails(
        env, tmp_path, "number", "add", "--company", cid, "+7 12", "--trunk", "1", "--to", "101"
    )


def test_migrate_is_idempotent(env: dict[str, str], tmp_path: Path) -> None:
    assert ok_json(env, tmp_path, "migrate") == {"applied": []}
    r = pbx(env, tmp_path, "migrate")
    assert (r.returncode, r.stdout.strip()) == (0, "schema is up to date")


def test_status_without_a_running_service_exits_1(env: dict[str, str], tmp_path: Path) -> None:
    r = pbx(env, tmp_path, "status", "--json")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert json.loads(r.stdout)["healthy"] is False


def test_operator_plans_and_blocks(env: dict[str, str], tmp_path: Path) -> None:
    cid = str(ok_json(env, tmp_path, "company", "create", "Billed")["id"])
    assert ok_json(env, tmp_path, "company", "plan", "--company", cid, "midi") == {
        "company": cid,
        "plan": "midi",
        "blocked": None,
    }
    blocked = ok_json(env, tmp_path, "company", "block", "--company", cid, "customer")
    assert blocked["blocked"] == "customer"
    assert ok_json(env, tmp_path, "company", "block", "--company", cid, "none")["blocked"] is None
    assert "no plan 'gold'" in fails(env, tmp_path, "company", "plan", "--company", cid, "gold")
    assert "invalid choice" in fails(env, tmp_path, "company", "block", "--company", cid, "why")
