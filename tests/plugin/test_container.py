"""The Dockerfile and scripts/container-build.sh (which runs the image's steps without Docker) agree: same ENV,
CMD, HEALTHCHECK, volume, workdir and port; the image is multi-stage, runs as an unprivileged user and only sets
settings that exist. (No Docker daemon here: CI runs the script itself, see .ci/run.)"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from localsection.config import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages of a Dockerfile: instructions with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, arg = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = arg.split()
            stages.append(Stage(parts[0], parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else ""))
        else:
            stages[-1].instructions.append((keyword, arg.strip()))
    return stages


def env_pairs(args: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for arg in args:
        for item in shlex.split(arg):
            key, _, value = item.partition("=")
            pairs[key] = value
    return pairs


def runtime() -> Stage:
    return parse_dockerfile((ROOT / "Dockerfile").read_text())[-1]


def plan() -> dict[str, list[str]]:
    out = subprocess.run(["bash", str(ROOT / "scripts" / "container-build.sh"), "--plan"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    lines: dict[str, list[str]] = {}
    for line in out.splitlines():
        keyword, _, arg = line.partition(" ")
        lines.setdefault(keyword, []).append(arg)
    return lines


def test_the_script_runs_the_images_env_cmd_healthcheck_volume_and_port() -> None:
    stage, steps = runtime(), plan()
    image_env = {k: v for k, v in env_pairs(stage.all("ENV")).items() if k != "PATH"}
    assert env_pairs(steps["ENV"]) == image_env
    assert json.loads(stage.all("CMD")[-1]) == json.loads(steps["CMD"][0])
    health = stage.all("HEALTHCHECK")[-1]
    options, _, command = health.partition("CMD ")
    assert json.loads(command) == json.loads(steps["HEALTHCHECK"][0].removeprefix("CMD "))
    assert "/readyz" in command and "--start-period" in options
    assert stage.all("VOLUME") == steps["VOLUME"] and stage.all("EXPOSE") == steps["EXPOSE"]
    assert stage.all("WORKDIR")[-1] == steps["WORKDIR"][0]
    assert image_env["LOCALSECTION_PORT"] == steps["EXPOSE"][0]
    assert json.loads(steps["VOLUME"][0]) == [image_env["LOCALSECTION_DATA_DIR"]]


def test_the_image_is_multi_stage_non_root_and_sets_only_real_settings() -> None:
    stages = parse_dockerfile((ROOT / "Dockerfile").read_text())
    assert len(stages) >= 2 and stages[0].name == "build"
    assert any("pip wheel" in arg for arg in stages[0].all("RUN"))
    final = stages[-1]
    assert any(arg.startswith("--from=build ") for arg in final.all("COPY"))
    assert any("--no-index" in arg for arg in final.all("RUN"))  # nothing fetched at run time
    user = final.all("USER")[-1]
    assert user not in ("root", "0") and re.search(rf"useradd .*\b{user}\b", " ".join(final.all("RUN")))
    known = {env_name(name) for name in Settings.model_fields}
    settings = [k for k in env_pairs(final.all("ENV")) if k.startswith("LOCALSECTION_")]
    assert settings and set(settings) <= known, set(settings) - known
    cmd = json.loads(final.all("CMD")[-1])
    assert cmd[:2] == ["localsection", "serve"] and "0.0.0.0" in cmd


def test_the_build_context_is_what_the_script_copies() -> None:
    copied = " ".join(parse_dockerfile((ROOT / "Dockerfile").read_text())[0].all("COPY"))
    assert re.findall(r"\S+", copied) == ["pyproject.toml", "README.md", "./", "src", "./src"]
    script = (ROOT / "scripts" / "container-build.sh").read_text()
    assert re.search(r"tar -c .* pyproject.toml README.md src \|", script)
    allowed = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    assert allowed == ["!pyproject.toml", "!README.md", "!src/"]
