"""The process: `tgmonitor run` and what keeps it alive, wired from the application services.

`run` builds the service (listener or web-preview poller, scheduler, digests, alerts, sinks, bot,
article worker) from the settings, `parts` holds its smaller pieces, `accounts` one Telegram client per
account (with `account_book`: who reads what, as `accounts`, `status` and `backfill` read it too),
`systemd` the stop signals, watchdog and notifications, `logging_setup` the redacting log handlers.
This is the top layer with `bot.cli`: it may import everything below (application, adapters, storage,
core, base) and nothing imports it but the command line (tests/test_layers.py enforces it).
"""
