"""``fishpond app``'s launcher: options checked in one line, the command, the page's assets."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from sim import serve
from sim.cli import main
from sim.errors import FishpondError


def test_port_out_of_range_and_port_in_use():
    with pytest.raises(FishpondError, match=r"--port 70000: allowed: a whole number in \[1, "):
        serve.check_address("127.0.0.1", 70000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(FishpondError, match=f"--port {port}: cannot listen on 127.0.0.1"):
            serve.check_address("127.0.0.1", port)


def test_cli_errors_are_one_line_with_status_2(capsys):
    assert main(["app", "no_such_scenario"]) == 2
    assert main(["app", "fish_pond", "--set", "rules.invite_rate=2"]) == 2
    assert main(["app", "fish_pond", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("fishpond: error: ") for line in err)
    assert "rules.invite_rate = 2" in err[1]


def test_command_serves_the_page_on_the_host_asked(tmp_path):
    cmd = serve.command("127.0.0.1", 8765)
    assert cmd[1:4] == ["-m", "solara", "run"] and Path(cmd[4]) == serve.APP_FILE
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and "--production" in cmd
    env = serve.environment("fish_pond", ["steps=30"], tmp_path)
    assert env[serve.ENV_SCENARIO] == "fish_pond"
    assert json.loads(env[serve.ENV_SET]) == ["steps=30"]
    assert Path(env[serve.ENV_SAVE_DIR]).is_absolute()


def test_asset_packages_follow_the_installed_solara():
    specs = serve.asset_packages()
    assert "requirejs@2.3.6" in specs
    assert any(s.startswith("@widgetti/solara-vuetify") for s in specs)
    assert all("@" in s[1:] for s in specs)
