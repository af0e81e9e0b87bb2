"""Subcommands of ``line`` that have a module of their own (atlas, layer sweeps)."""
