"""Pandera schemas of the raw survey wave and its findings, with the codebook they share."""
