"""`make run` signs sessions and tokens with a random secret of its own, kept in instance/, never
with a public default (issue 17, item 3)."""

from __future__ import annotations

import stat
import threading

import pytest

import config


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


def test_processes_starting_at_once_all_get_the_same_secret(tmp_path):
    path = tmp_path / "secret_key"
    start = threading.Barrier(8)
    seen: list[str] = []

    def boot() -> None:
        start.wait()
        seen.append(config.instance_secret(path))

    threads = [threading.Thread(target=boot) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(seen) == 8 and len(set(seen)) == 1
    assert seen[0] == path.read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


def test_an_empty_secret_file_is_refused_rather_than_used(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("")

    with pytest.raises(RuntimeError, match="secret_key"):
        config.instance_secret(path)


def test_the_base_config_has_no_public_default_secret():
    assert config.Config.SECRET_KEY != "dev-only-not-secret"
    assert config.TestConfig.SECRET_KEY  # tests keep their own
