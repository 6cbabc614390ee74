"""One module per rule: each adds its constraints and penalty terms to the count model (stage 1)
and/or the named assignment model (stage 2)."""
