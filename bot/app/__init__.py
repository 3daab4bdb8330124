"""Application services: what tgmonitor does with the archive, independent of how it is started.

Here live the one way into the archive (`ingest`, with its worker process), the archive factory
(`archive`), listings and folding for every surface (`listing`), the near-duplicate index and learned
boilerplate, the digest and alert jobs and their sinks, edit alerts, access rules, the linked-article
worker, re-cleaning, the analysis of who carries a statement (`analytics`), feeds and exports. A module
here may import the base (`bot.models`, `bot.config`), the pure core (`bot.core`), storage and the
adapters (`bot.sources`, `bot.telegram`, `bot.outputs`, `bot.scheduler`); never `bot.service` or
`bot.cli`, which wire these services into processes (tests/test_layers.py enforces it).
"""
