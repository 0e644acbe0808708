"""Simulated event stream of the union social-worker program (deterministic, streaming)."""

from services.sim.generate import Event, SimConfig, generate

__all__ = ["Event", "SimConfig", "generate"]
