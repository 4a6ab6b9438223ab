"""The demo world: a catalogue, customers and orders on several channels, a warehouse
robot working through the public API, and a summary of what happened."""

from retaguarda.demo.driver import DEMO_ENV, run_demo, run_demo_cli

__all__ = ["DEMO_ENV", "run_demo", "run_demo_cli"]
