from __future__ import annotations

from pathlib import Path

import redis

from api.store.embedded_redis import EmbeddedRedis, redis_url_for, running_url


def test_embedded_server_persists_with_aof_across_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync="always").start()
    client = redis.Redis.from_url(server.url)
    assert client.config_get("appendonly")["appendonly"] == "yes"
    client.set("dw:test", "kept")
    client.close()
    server.stop()
    restarted = EmbeddedRedis(data_dir=tmp_path).start()
    try:
        assert redis.Redis.from_url(restarted.url).get("dw:test") == b"kept"
    finally:
        restarted.stop()


def test_second_user_of_a_data_dir_reuses_the_running_server(tmp_path: Path) -> None:
    with redis_url_for(None, tmp_path) as first:
        assert running_url(tmp_path) == first
        with redis_url_for(None, tmp_path) as second:
            assert second == first
    assert running_url(tmp_path) is None


def test_session_fixture_is_a_real_server(redis_client: redis.Redis) -> None:
    redis_client.set("k", "v")
    assert redis_client.get("k") == "v"
    assert int(redis_client.info("server")["redis_version"].split(".")[0]) >= 6
