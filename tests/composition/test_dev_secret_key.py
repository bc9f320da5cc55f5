"""`make run` signs sessions and tokens with a random secret of its own, kept in instance/, never
with a public default (issue 17, item 3)."""

from __future__ import annotations

import errno
import os
import stat
import time

import pytest

import config
from tests.helpers import run_at_once


def test_the_development_config_creates_a_private_random_secret_on_first_start(
        monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("BOOKSTATION_ENV", "development")
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "instance")
    monkeypatch.setattr(config.DevelopmentConfig, "SECRET_KEY", None)

    chosen = config.config_from_env()

    kept = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert chosen.SECRET_KEY == kept.read_text().strip()
    assert len(chosen.SECRET_KEY) >= 43  # 32 random bytes
    assert "dev-only" not in chosen.SECRET_KEY


def test_the_kept_secret_is_reused_by_the_next_start(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("BOOKSTATION_ENV", "development")
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setattr(config.DevelopmentConfig, "SECRET_KEY", None)
    first = config.config_from_env().SECRET_KEY
    monkeypatch.setattr(config.DevelopmentConfig, "SECRET_KEY", None)

    assert config.config_from_env().SECRET_KEY == first


def test_a_secret_key_from_the_environment_wins_and_no_file_is_written(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("BOOKSTATION_ENV", "development")
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setattr(config.DevelopmentConfig, "SECRET_KEY", None)

    assert config.config_from_env().SECRET_KEY == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def _secrets_read_by_eight_processes_at_once(path) -> list[str]:
    """The secret each of eight threads, started together, gets from `path`."""
    seen: list[str] = []

    def boot(meet) -> None:
        meet()
        seen.append(config.instance_secret(path))

    errors = run_at_once(boot, [()] * 8, wait_timeout=None, join_timeout=None)
    assert not errors, errors
    return seen


def test_processes_starting_at_once_all_get_the_same_secret(tmp_path):
    path = tmp_path / "secret_key"
    seen = _secrets_read_by_eight_processes_at_once(path)

    assert len(seen) == 8 and len(set(seen)) == 1
    assert seen[0] == path.read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


def test_an_empty_secret_file_is_refused_rather_than_used(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("")
    path.chmod(0o600)
    an_hour_ago = time.time() - 3600  # not one another process is writing this instant
    os.utime(path, (an_hour_ago, an_hour_ago))

    with pytest.raises(RuntimeError, match="secret_key"):
        config.instance_secret(path)


def test_the_base_config_has_no_public_default_secret():
    assert config.Config.SECRET_KEY != "dev-only-not-secret"
    assert config.TestConfig.SECRET_KEY  # tests keep their own


@pytest.mark.parametrize("loose_mode", [0o644, 0o640, 0o604, 0o666], ids=oct)
def test_a_kept_secret_readable_by_others_is_made_private_and_kept(tmp_path, loose_mode):
    path = tmp_path / "secret_key"
    path.write_text("k" * 43 + "\n")
    path.chmod(loose_mode)

    with pytest.warns(UserWarning, match="0600"):
        secret = config.instance_secret(path)

    assert secret == "k" * 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_private_kept_secret_is_used_without_a_warning(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("k" * 43 + "\n")
    path.chmod(0o600)

    assert config.instance_secret(path) == "k" * 43  # warnings are errors in the tests


def _no_hard_links(source, target):
    raise PermissionError(errno.EPERM, "Operation not permitted", str(source))


def test_a_file_system_without_hard_links_still_gets_a_private_secret(monkeypatch, tmp_path):
    monkeypatch.setattr(config.os, "link", _no_hard_links)  # as on FAT and some network mounts
    path = tmp_path / "instance" / "secret_key"

    secret = config.instance_secret(path)

    assert len(secret) >= 43 and secret == path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]
    assert config.instance_secret(path) == secret


def test_without_hard_links_processes_starting_at_once_still_share_one_secret(
        monkeypatch, tmp_path):
    monkeypatch.setattr(config.os, "link", _no_hard_links)
    path = tmp_path / "secret_key"
    seen = _secrets_read_by_eight_processes_at_once(path)

    assert len(seen) == 8 and len(set(seen)) == 1
    assert seen[0] == path.read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]
