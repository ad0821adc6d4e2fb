"""One screen = one .py (behaviour) + one .kv (layout and bindings only)."""
