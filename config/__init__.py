"""Typed settings, the 40-domain catalogue and the working-day calendar."""
