"""Bench groups: each module registers its groups with `@bench.core.group("name")`."""
