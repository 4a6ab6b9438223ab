"""Sandbox provider: carrier (being written)."""

from fastapi import APIRouter

from sandbox.core import SandboxState


def build_router(state: SandboxState) -> APIRouter:
    return APIRouter()
