"""Windsock: workflow orchestration with a contract-first stable REST API."""

__version__ = "0.1.0"
