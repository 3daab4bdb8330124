"""`tgmonitor web`: browse the archive in a browser, read-only (storage/readonly.py).

A small Starlette app rather than Datasette: every page here is the project's own (a post with its
copies, a day's digest as the service sends it, charts) and Datasette's generic table browser, SQL
editor and inline scripts are what this viewer must not expose by default; see README "Web viewer".
Needs the `web` extra (starlette, uvicorn, jinja2).
"""
