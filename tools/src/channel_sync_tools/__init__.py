"""The project's own runs of the whole system (never in a service image).

Each run is a module started with `python -m` (the Makefile's targets):

- `channel_sync_tools.run_all` (`make run`), `channel_sync_tools.run_tests` (`make test`);
- `channel_sync_tools.demo` (`make demo`), `channel_sync_tools.hostile_run` (`make hostile`);
- `channel_sync_tools.bench` and `.bench.gateway` (`make bench`), `.bench.ari` and
  `.bench.inbound` (alone);
- `channel_sync_tools.chaos` (`make chaos`), `channel_sync_tools.soak` (`make soak`);
- `channel_sync_tools.onboard_real_hotel`, `channel_sync_tools.console_screenshots`.

What they share has one home each: `stack` starts the servers (as processes, or an app in
this process) and waits on conditions, `api` talks to the admin API and the Beds24 sandbox,
`onboarding` connects a hotel through the admin API and waits until it is ready, `session`
is a stack with a fresh database and clients for one run, `calendar` reads Beds24's calendar
night by night.
"""
