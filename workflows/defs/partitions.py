"""Survey waves: one dynamic partition per raw file, named by the wave id."""

import dagster as dg

wave_partitions = dg.DynamicPartitionsDefinition(name="wave")

# Every asset that reads or writes the warehouse is in this pool; the instance (settings.py)
# lets one run of the pool be in progress at a time.
WAREHOUSE_POOL = "warehouse"
