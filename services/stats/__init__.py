"""Figures for staff: how the rollout goes (reports, certificates replaced, objections) and what
the message queues hold (per-stream figures and dead letters)."""
