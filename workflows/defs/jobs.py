"""The two jobs a wave runs under, from the UI, the sensor, the schedule and the command line alike."""

import os

import dagster as dg

from workflows import faults
from workflows.defs.partitions import wave_partitions

INTAKE_ASSETS = ("wave_corrections", "raw_wave")


@dg.success_hook(name="fault_point")
def fault_point(context: dg.HookContext) -> None:
    """After each step: the boundary where the integrity tests may kill the run (inert otherwise)."""
    faults.reach(f"after:{context.step_key}")


wave_job = dg.define_asset_job(
    "wave_job",
    selection=dg.AssetSelection.all(),
    partitions_def=wave_partitions,
    # The hook costs an event per step that nobody reads: attached only to a process told where to fail.
    hooks={fault_point} if os.environ.get(faults.FAULT_VARIABLE) else set(),
    description="Every asset and check of one wave, from its raw file to its report, published as one unit.",
)

validation_job = dg.define_asset_job(
    "wave_validation_job",
    selection=dg.AssetSelection.assets(*INTAKE_ASSETS) | dg.AssetSelection.checks_for_assets(*INTAKE_ASSETS),
    partitions_def=wave_partitions,
    description="The raw wave and the contract's rules only: what `cleantech-survey validate` runs.",
)
