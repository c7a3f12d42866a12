"""deploy/: the compose file and the systemd units name only real settings with valid values and only real
commands; the compose file and the Caddyfile pass their own tools' validation where those are installed
(docker-compose, caddy: `.ci/run` installs them; there is no Docker daemon here, so nothing is started)."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from localsection.cli import app
from localsection.config import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCS = ROOT / "docs" / "deployment.md"
SETTING = re.compile(r"\bLOCALSECTION_[A-Z0-9_]+\b")
EXAMPLE_ENV = dict(line.split("=", 1) for line in (DEPLOY / "env.example").read_text().splitlines()
                   if line and not line.startswith("#"))


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def substituted(value: str) -> str:
    """Compose's ${VAR}, ${VAR:?message} and ${VAR:-default}, filled in from env.example."""
    def fill(m: re.Match[str]) -> str:
        name, _, rest = m.group(1).partition(":")
        return EXAMPLE_ENV.get(name, rest[1:] if rest.startswith("-") else "")
    return re.sub(r"\$\{([^}]+)\}", fill, value)


def test_the_compose_file_has_postgres_a_migration_two_apps_a_worker_and_a_tls_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "app1", "app2", "worker", "caddy", "redis"}
    assert services["migrate"]["command"] == ["localsection", "db", "upgrade"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("app1", "app2"):
        assert services[name]["command"][:2] == ["localsection", "serve"]
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"},
                                                "redis": {"condition": "service_healthy"}}
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])
    assert services["worker"]["command"] == ["localsection", "worker"]
    for name in ("app1", "app2", "worker", "migrate"):
        assert services[name]["volumes"] == ["data:/data"]
    # the apps believe X-Forwarded-For from the proxy's fixed address only
    proxy_ip = services["caddy"]["networks"]["internal"]["ipv4_address"]
    assert services["app1"]["environment"]["LOCALSECTION_TRUSTED_PROXIES"] == proxy_ip
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert "reverse_proxy app1:8000 app2:8000" in caddyfile and "health_uri /readyz" in caddyfile
    assert "respond /metrics 404" in caddyfile and "respond /_localsection* 404" in caddyfile


def test_every_setting_named_in_deploy_and_the_deployment_guide_exists() -> None:
    real = {env_name(field) for field in Settings.model_fields}
    for path in [*DEPLOY.iterdir(), DOCS]:
        named = set(SETTING.findall(path.read_text()))
        assert named - real == set(), f"{path.name} names settings config.py does not have"


def test_the_compose_settings_are_valid_values(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: substituted(str(v)) for k, v in compose()["services"]["app1"]["environment"].items()}
    for name in [n for n in os.environ if n.startswith("LOCALSECTION_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.database_url.startswith("postgresql://localsection:")
    assert settings.metrics == "token" and settings.log_format == "json" and not settings.run_webhook_worker
    assert not settings.emulator and not settings.legacy_md5
    assert settings.redis_url.startswith("redis://:") and settings.redis_url.endswith("@redis:6379/0")


def commands() -> list[list[str]]:
    """Every `localsection …` command line in deploy/ and docs/deployment.md, as arguments after the program."""
    found: list[list[str]] = []
    for service in compose()["services"].values():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "localsection":
            found.append(command[1:])
    for unit in DEPLOY.glob("*.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read_string(unit.read_text())
        for key in ("ExecStartPre", "ExecStart"):
            if parser.has_option("Service", key):
                words = shlex.split(parser.get("Service", key))
                assert words[0].endswith("/bin/localsection")
                found.append(words[1:])
    for block in re.findall(r"```sh\n(.*?)```", DOCS.read_text(), re.S):
        for line in block.splitlines():
            words = shlex.split(line.split(" #", 1)[0]) if "localsection" in line else []
            for i, word in enumerate(words):
                program = word == "localsection" or word.endswith("/bin/localsection")
                if program and (i == 0 or not words[i - 1].startswith("-")):  # not `-g localsection` (a group)
                    rest = words[i + 1:]
                    cut = [j for j, w in enumerate(rest) if w in ("|", "&&", ";", ">", "2>")]
                    found.append(rest[: cut[0]] if cut else rest)
    for inline in re.findall(r"`localsection ([^`]+)`", DOCS.read_text()):
        found.append(shlex.split(inline))
    return found


def test_every_command_in_deploy_and_the_guide_is_a_real_command_with_real_options() -> None:
    lines = commands()
    assert ["db", "upgrade"] in lines and ["worker"] in lines and ["doctor"] in lines
    for args in lines:
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, f"localsection {' '.join(args)}: {result.output}"


def test_docker_compose_accepts_the_compose_file(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (.ci/run installs it)")
    env = {"PATH": "/usr/bin:/bin", **EXAMPLE_ENV}
    result = subprocess.run([tool, "-f", str(DEPLOY / "compose.yaml"), "config", "-q"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_caddy_accepts_the_caddyfile() -> None:
    tool = shutil.which("caddy")
    if tool is None:
        pytest.skip("caddy is not installed (.ci/run installs it)")
    result = subprocess.run([tool, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
                            env={"PATH": "/usr/bin:/bin", "LS_SITE": EXAMPLE_ENV["LS_SITE"], "HOME": "/tmp"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"dial":"app1:8000"' in result.stdout and '"dial":"app2:8000"' in result.stdout
