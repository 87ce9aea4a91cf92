"""`make bench`: performance figures for Imigrasi, printed as JSON lines.

`python -m bench.run [GROUP ...]` runs the named groups (`all` for every
one). A group is a module in `bench/groups/` that registers a function with
`@group("name")`; see `bench/README.md`.
"""
