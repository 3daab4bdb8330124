"""The one version string: the installed package's metadata (pyproject.toml's `version`)."""

from __future__ import annotations

from importlib import metadata


def package_version() -> str:
    try:
        return metadata.version("tgmonitor")
    except metadata.PackageNotFoundError:
        return "0+unknown"  # running from a checkout that was never installed (./dev installs it)
