"""One patient's dose over time: the studies of a Patient ID, totals per modality, sums over windows."""
