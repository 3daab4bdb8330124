"""Benchmarks: `./dev bench` lists them (bench/__main__.py); figures and method in bench/README.md."""
