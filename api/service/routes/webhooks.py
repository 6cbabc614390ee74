"""Webhooks (supervisor): subscribe a URL to task and alert events; see deliveries; replay dead letters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AnyHttpUrl, BaseModel, Field, field_validator

from api.live.webhooks import EVENT_TYPES
from api.service.deps import QueueDep, SupervisorDep
from api.store.webhooks import Webhook, WebhookStore

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

KNOWN_TYPES = sorted(set(EVENT_TYPES.values()))
WebhookId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Your name for the subscription.")]


class WebhookPut(BaseModel):
    url: AnyHttpUrl
    events: list[str] = Field(min_length=1, description=f"Any of: {', '.join(KNOWN_TYPES)}")
    secret: str = Field(min_length=16, max_length=256, description="Signs every delivery (HMAC-SHA256).")

    @field_validator("events")
    @classmethod
    def known_events(cls, events: list[str]) -> list[str]:
        unknown = sorted(set(events) - set(KNOWN_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {KNOWN_TYPES}")
        return sorted(set(events))


def get_store(queue: QueueDep) -> WebhookStore:
    return WebhookStore(queue)


StoreDep = Annotated[WebhookStore, Depends(get_store)]


@router.put("/{webhook_id}")
async def put_webhook(webhook_id: WebhookId, body: WebhookPut, store: StoreDep, queue: QueueDep,
                      response: Response, principal: SupervisorDep) -> dict[str, Any]:
    webhook = Webhook(webhook_id, str(body.url), tuple(body.events), body.secret, queue.now_ms())
    if await store.put(webhook):
        response.status_code = 201
    return webhook.view()


@router.get("")
async def list_webhooks(store: StoreDep, principal: SupervisorDep) -> list[dict[str, Any]]:
    return [w.view() | {"pending_tasks": await store.pending(w.id)} for w in await store.all()]


@router.get("/{webhook_id}")
async def get_webhook(webhook_id: WebhookId, store: StoreDep, principal: SupervisorDep) -> dict[str, Any]:
    webhook = await store.get(webhook_id)
    return webhook.view() | {"pending_tasks": await store.pending(webhook_id)}


@router.delete("/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: WebhookId, store: StoreDep, principal: SupervisorDep) -> Response:
    await store.delete(webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries")
async def deliveries(webhook_id: WebhookId, store: StoreDep, principal: SupervisorDep,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """The newest delivery attempts first: outcome (delivered, failed, dead-lettered), status or error, ms."""
    return await store.log(webhook_id, limit)


@router.get("/{webhook_id}/dead-letters")
async def dead_letters(webhook_id: WebhookId, store: StoreDep, principal: SupervisorDep) -> list[dict[str, Any]]:
    return await store.dead_letters(webhook_id)


@router.post("/{webhook_id}/dead-letters/replay")
async def replay(webhook_id: WebhookId, store: StoreDep, queue: QueueDep,
                 principal: SupervisorDep) -> dict[str, int]:
    """Queue every dead-lettered delivery again, behind what its task has pending."""
    return {"replayed": await store.replay_dead_letters(webhook_id, queue.now_ms())}
