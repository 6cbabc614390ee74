"""Webhooks against a real local HTTP receiver that fails and stalls at random: every subscribed event
arrives, signatures verify, and each task's events arrive in order."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from api.live.webhooks import EVENT_TYPES, SIGNATURE_HEADER, WebhookDeliverer, sign, verify
from api.service.app import create_app
from api.service.settings import Settings
from api.store.queue import LiveQueue
from api.store.webhooks import Webhook, WebhookStore

SECRET = "s3cret-s3cret-s3cret"
BOOT = "boot-supervisor-key"


@dataclass
class Receiver:
    """A real HTTP server on loopback. ``fail`` and ``stall`` are probabilities per request."""

    fail: float = 0.0
    stall: float = 0.0
    stall_s: float = 0.4
    seed: int = 7
    received: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    roll = receiver.rng.random()
                if roll < receiver.stall:
                    time.sleep(receiver.stall_s)  # past the sender's timeout: it counts as failed
                elif roll < receiver.stall + receiver.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.received.append({
                        "body": orjson.loads(body), "event_id": self.headers["Dispatchwise-Event-Id"],
                        "signed": verify(SECRET, self.headers[SIGNATURE_HEADER], body),
                    })
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=0.3, stall=0.1)
    yield r
    r.close()


async def lifecycle(queue: LiveQueue, tasks: int) -> None:
    """Tasks created, offered, accepted, completed or cancelled: several events per task, interleaved."""
    await queue.put_agent("a1", name="A1", skills={"billing": 3}, primary_skills=["billing"], capacity=tasks)
    await queue.set_status("a1", "available", actor="test")
    ids = []
    for i in range(tasks):
        task, _ = await queue.create_task(external_id=f"t{i}", source="test", skill="billing", urgent=i % 2 == 0,
                                          important=True)
        ids.append(task["id"])
    for i, task_id in enumerate(ids):
        if i % 4 == 3:
            await queue.cancel(task_id, actor="test", reason="customer hung up")
            continue
        offer = await queue.offer(task_id, "a1", explanation={"why": "test"})
        await queue.accept(offer.offer_id, actor="a1", acting_agent="a1")
        await queue.complete(task_id, actor="a1", acting_agent="a1")


async def deliver_until_done(deliverer: WebhookDeliverer, store: WebhookStore, webhook_id: str,
                             max_s: float = 60.0) -> None:
    give_up = time.monotonic() + max_s
    while time.monotonic() < give_up:
        await deliverer.tick()
        if not await store.pending(webhook_id) and not await store.new_events(webhook_id, 1):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("deliveries still pending after the time bound")


def test_every_event_arrives_signed_and_in_order_per_task_through_failures_and_stalls(
    redis_url: str, receiver: Receiver
) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
        queue = LiveQueue.from_url(redis_url, prefix=f"wh{uuid.uuid4().hex[:8]}")
        store = WebhookStore(queue)
        wanted = ("task.created", "task.assigned", "task.completed", "task.cancelled", "task.offered")
        await store.put(Webhook("crm", receiver.url, wanted, SECRET, queue.now_ms()))
        await lifecycle(queue, tasks=40)
        deliverer = WebhookDeliverer(store, timeout_s=0.2, backoff_base_s=0.01, backoff_max_s=0.1)
        await deliver_until_done(deliverer, store, "crm")
        expected = [e for e in await queue.all_audit_events() if EVENT_TYPES.get(e["event"]) in wanted]
        attempts = await store.log("crm", 10_000)
        await deliverer.client.aclose()
        await queue.close()
        return expected, deliverer.stats.failed, attempts

    expected, failed, attempts = asyncio.run(scenario())
    assert failed > 10, "the receiver's failures and stalls must have forced retries"
    assert any(a["outcome"] == "failed" and "error" in a for a in attempts), "a stall must time out"
    assert all(r["signed"] for r in receiver.received)
    first_arrival: dict[str, dict[str, Any]] = {}
    for r in receiver.received:  # at least once: a stalled request may have been received and retried
        first_arrival.setdefault(r["event_id"], r)
    assert set(first_arrival) == {e["id"] for e in expected}
    order_sent: dict[str, list[str]] = {}
    for r in first_arrival.values():
        order_sent.setdefault(r["body"]["task_id"], []).append(r["event_id"])
    order_audit: dict[str, list[str]] = {}
    for e in expected:
        order_audit.setdefault(e["task_id"], []).append(e["id"])
    assert order_sent == order_audit
    by_id = {e["id"]: e for e in expected}
    for event_id, r in first_arrival.items():
        assert r["body"]["type"] == EVENT_TYPES[by_id[event_id]["event"]]


def test_a_dead_receiver_dead_letters_after_the_age_limit_and_replay_delivers(redis_url: str) -> None:
    receiver = Receiver(fail=1.0)
    now = [1_800_000_000.0]

    async def scenario() -> tuple[int, list[dict[str, Any]], int]:
        queue = LiveQueue.from_url(redis_url, prefix=f"wh{uuid.uuid4().hex[:8]}", clock=lambda: now[0])
        store = WebhookStore(queue)
        await store.put(Webhook("crm", receiver.url, ("task.created",), SECRET, queue.now_ms()))
        for i in range(3):
            await queue.create_task(external_id=f"t{i}", source="test", skill="billing", urgent=False,
                                    important=False)
        deliverer = WebhookDeliverer(store, timeout_s=0.5, backoff_base_s=60, backoff_max_s=3600,
                                     max_age_s=86_400, clock=lambda: now[0])
        for _ in range(40):  # a day of retries on the injected clock
            await deliverer.tick()
            now[0] += 3600
        dead = await store.dead_letters("crm")
        receiver.fail = 0.0
        replayed = await store.replay_dead_letters("crm", queue.now_ms())
        await deliver_until_done(deliverer, store, "crm")
        await deliverer.client.aclose()
        await queue.close()
        return replayed, dead, deliverer.stats.dead_lettered

    try:
        replayed, dead, dead_lettered = asyncio.run(scenario())
    finally:
        receiver.close()
    assert dead_lettered == 3 and replayed == 3
    assert [d["type"] for d in dead] == ["task.created"] * 3
    assert all(d["attempts"] > 5 for d in dead)
    assert len({r["event_id"] for r in receiver.received}) == 3


def test_signature_verifies_only_the_exact_body_secret_and_a_recent_time() -> None:
    body = b'{"id":"1-0"}'
    header = sign(SECRET, 1_800_000_000, body)
    assert verify(SECRET, header, body, now=1_800_000_010)
    assert not verify(SECRET, header, body + b" ", now=1_800_000_010)
    assert not verify("another-secret-0000", header, body, now=1_800_000_010)
    assert not verify(SECRET, header, body, now=1_800_000_000 + 3600)
    assert not verify(SECRET, "garbage", body)


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, tmp_path: Any) -> Iterator[TestClient]:
    settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, data_dir=tmp_path,
                        key_prefix=f"wh{uuid.uuid4().hex[:8]}")
    with TestClient(create_app(settings, dispatch=False)) as tc:
        yield tc


def test_webhook_api_subscribes_lists_without_the_secret_and_checks_its_input(client: TestClient) -> None:
    sup = {"Authorization": f"Bearer {BOOT}"}
    body = {"url": "http://127.0.0.1:9/hook", "events": ["task.assigned", "task.completed"], "secret": SECRET}
    r = client.put("/v1/webhooks/crm", json=body, headers=sup)
    assert r.status_code == 201, r.text
    assert client.put("/v1/webhooks/crm", json=body, headers=sup).status_code == 200
    listed = client.get("/v1/webhooks", headers=sup).json()
    assert [w["id"] for w in listed] == ["crm"] and "secret" not in listed[0]
    bad = client.put("/v1/webhooks/crm", json={**body, "events": ["task.teleported"]}, headers=sup)
    assert bad.status_code == 422 and "task.teleported" in bad.json()["detail"]
    assert client.put("/v1/webhooks/x", json={**body, "url": "ftp://x"}, headers=sup).status_code == 422
    assert client.put("/v1/webhooks/x", json={**body, "secret": "short"}, headers=sup).status_code == 422
    assert client.get("/v1/webhooks/nope/deliveries", headers=sup).status_code == 404
    integration = client.post("/v1/keys", json={"role": "integration"}, headers=sup).json()["key"]
    assert client.get("/v1/webhooks", headers={"Authorization": f"Bearer {integration}"}).status_code == 403
    assert client.delete("/v1/webhooks/crm", headers=sup).status_code == 204
    assert client.get("/v1/webhooks/crm", headers=sup).status_code == 404
