"""Survey waves: one dynamic partition per raw file, named by the wave id."""

import dagster as dg

wave_partitions = dg.DynamicPartitionsDefinition(name="wave")
