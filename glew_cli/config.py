"""Where the CLI finds its server and token: flags, then environment, then a file.

Order: ``--url``/``--token``, then ``GLEW_URL``/``GLEW_TOKEN``, then the config file
``glew login`` writes (``$GLEW_CONFIG``, else ``$XDG_CONFIG_HOME/glew/config.json``,
else ``~/.config/glew/config.json``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path() -> Path:
    if os.environ.get("GLEW_CONFIG"):
        return Path(os.environ["GLEW_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "glew" / "config.json"


def read_file() -> dict:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def write_file(*, url: str, token: str) -> Path:
    """Save the server and token, readable by the user only."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token}, handle, indent=2)
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None


def resolve(url: str | None, token: str | None) -> Settings:
    saved = read_file()
    return Settings(
        url=(
            url or os.environ.get("GLEW_URL") or saved.get("url") or DEFAULT_URL
        ).rstrip("/"),
        token=token or os.environ.get("GLEW_TOKEN") or saved.get("token") or None,
    )
