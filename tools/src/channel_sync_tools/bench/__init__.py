"""The benchmarks (print figures, never assert): `python -m channel_sync_tools.bench` is
`make bench`'s whole-system part, `.gateway` its gateway part; `.ari` and `.inbound` run
alone. `open_loop` is their load generator, `naive_gateway` the gateway's baseline."""
