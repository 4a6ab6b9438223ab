"""Adapters for portals that have no API, driven by Playwright in Chromium."""
