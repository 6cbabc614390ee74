"""``policy.toml``: a named routing policy (what live dispatch, a what-if scenario and an A/B arm run).

```toml
name = "live"
mode = "optimal"            # optimal | greedy | longest-idle
batch_interval_s = 2.0      # 0 = decide at every event
dispatch_at_once = true     # no contention -> dispatch now instead of at the next grid point
[weights]                   # any AssignmentPolicy weight, e.g.
urgency_weight = 10.0
load_weight = 3.0
```
A scenario may instead name a built-in policy: ``live``, ``greedy`` or ``longest-idle``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from dispatcher.errors import DispatchwiseError, InvalidInput
from dispatcher.policy import BUILTIN_POLICIES, RoutingPolicy


def read_policy(path: Path) -> RoutingPolicy:
    """A policy file; errors name the file and the key."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise InvalidInput(f"cannot read policy file: {exc}", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"not valid TOML: {exc}", file=str(path)) from exc
    try:
        return RoutingPolicy.from_dict(data, default_name=path.stem)
    except DispatchwiseError as exc:
        raise InvalidInput(exc.message, file=str(path), field=exc.field) from exc


def resolve_policy(value: object, base_dir: Path | None, where: str) -> RoutingPolicy:
    """A built-in policy name, a policy file path (relative to ``base_dir``) or an inline table."""
    if isinstance(value, dict):
        try:
            return RoutingPolicy.from_dict(value)
        except DispatchwiseError as exc:
            raise InvalidInput(exc.message, field=f"{where}.{exc.field}") from exc
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"policy must be a built-in name, a file or a table, got {value!r}", field=where)
    if value in BUILTIN_POLICIES:
        return BUILTIN_POLICIES[value]
    path = Path(value)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise InvalidInput(f"policy {value!r} is neither a built-in ({sorted(BUILTIN_POLICIES)}) nor a file",
                           field=where)
    return read_policy(path)
