"""Every Redis key name dispatchwise uses, built in one place (prefix from settings, default ``dw``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "dw"

    def task(self, task_id: str) -> str:
        """Hash: the task's fields and state."""
        return f"{self.prefix}:task:{task_id}"

    def history(self, task_id: str) -> str:
        """Stream: this task's audit events."""
        return f"{self.prefix}:hist:{task_id}"

    def queue(self, skill: str) -> str:
        """Sorted set of queued task ids of one skill, scored by response due time (ms)."""
        return f"{self.prefix}:q:{skill}"

    def external(self, source: str) -> str:
        """Hash external_id -> task id for one source (idempotent create)."""
        return f"{self.prefix}:ext:{source}"

    def agent(self, agent_id: str) -> str:
        """Hash: the agent's profile, status, active task count and misses."""
        return f"{self.prefix}:agent:{agent_id}"

    def agent_offers(self, agent_id: str) -> str:
        """Sorted set of the agent's pending offer ids scored by expiry (ms)."""
        return f"{self.prefix}:aoffers:{agent_id}"

    def agent_tasks(self, agent_id: str) -> str:
        """Set of task ids the agent holds (offered or assigned)."""
        return f"{self.prefix}:atasks:{agent_id}"

    def wake(self, agent_id: str) -> str:
        """List pushed when an offer is made, so a long-polling ``/next`` wakes at once."""
        return f"{self.prefix}:wake:{agent_id}"

    def offer(self, offer_id: str) -> str:
        return f"{self.prefix}:offer:{offer_id}"

    def alert(self, alert_id: str) -> str:
        return f"{self.prefix}:alert:{alert_id}"

    def api_key(self, digest: str) -> str:
        return f"{self.prefix}:apikey:{digest}"

    @property
    def api_keys(self) -> str:
        """Hash key id -> SHA-256 digest of every issued key (list, revoke)."""
        return f"{self.prefix}:apikeys"

    def session(self, token_digest: str) -> str:
        """Hash: a dashboard session (cookie) -> the digest of the key that opened it; expires."""
        return f"{self.prefix}:session:{token_digest}"

    @property
    def notify(self) -> str:
        """Pub/sub channel: ``a:<agent>`` (offer or free slot), ``s:<skill>`` (work queued),
        ``k:<digest>`` (key revoked). One subscription per process wakes every long-poll."""
        return f"{self.prefix}:notify"

    @property
    def available(self) -> str:
        """Set of agent ids whose status is ``available``: kept by the status, retire and miss scripts."""
        return f"{self.prefix}:agents:available"

    @property
    def abtest(self) -> str:
        """String: the running A/B experiment of routing policies (JSON), absent when none runs."""
        return f"{self.prefix}:abtest"

    @property
    def agents(self) -> str:
        """Set of all agent ids."""
        return f"{self.prefix}:agents"

    @property
    def skills(self) -> str:
        """Set of every skill that has (had) a queue."""
        return f"{self.prefix}:skills"

    @property
    def offer_expiry(self) -> str:
        """Sorted set offer id -> expires_ms, swept by the dispatch loop."""
        return f"{self.prefix}:offers:exp"

    @property
    def sla(self) -> str:
        """Sorted set task id -> next SLA deadline (ms) for tasks still open."""
        return f"{self.prefix}:sla"

    @property
    def alerts(self) -> str:
        """Sorted set of alert ids by raise time (ms)."""
        return f"{self.prefix}:alerts"

    @property
    def audit(self) -> str:
        """Stream of every task and alert event: the audit trail, KPIs and SSE read it."""
        return f"{self.prefix}:audit"

    @property
    def seq(self) -> str:
        """Counter for task, offer and alert ids."""
        return f"{self.prefix}:seq"

    @property
    def lease(self) -> str:
        """The dispatch lease: only its holder runs a batch."""
        return f"{self.prefix}:dispatch:lease"

    @property
    def kick(self) -> str:
        """List pushed when work or capacity appears, so the dispatch lease holder wakes at once."""
        return f"{self.prefix}:dispatch:kick"

    @property
    def batch(self) -> str:
        """Present while a batch is being solved; the single-agent pull path steps aside."""
        return f"{self.prefix}:dispatch:batch"

    def webhook(self, *parts: str) -> str:
        """Webhook subscriptions, their cursor on the audit stream, pending deliveries per task, delivery
        log and dead letters: api/store/webhooks.py."""
        return ":".join((f"{self.prefix}:wh", *parts))

    def perf(self, *parts: str) -> str:
        """Performance-management records (targets, plans, previews, proficiencies, alerts): api/store/perf.py."""
        return ":".join((f"{self.prefix}:perf", *parts))

    def plan(self, *parts: str) -> str:
        """Published plan (forecast, roster) with its versions, actual volume counts and floor-alert marks:
        api/store/plan.py."""
        return ":".join((f"{self.prefix}:plan", *parts))
