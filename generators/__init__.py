"""Generators of the shipped synthetic waves and the benchmark's waves; not part of the runtime."""
