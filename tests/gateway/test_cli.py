"""The `icbox` console script."""

import subprocess
import sys

from gateway.cli import DEFAULT_PORT, build_parser, main


def test_start_defaults_to_the_local_replica_address():
    args = build_parser().parse_args(["start"])
    assert (args.host, args.port) == ("127.0.0.1", DEFAULT_PORT)


def test_start_prints_the_url_it_serves(capsys, tmp_path):
    assert main(["start", "--port", "5000", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:5000" in out
    assert "/api/v2/status" in out


def test_console_script_module_runs():
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "start", "--port", "4944"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "http://127.0.0.1:4944" in result.stdout
