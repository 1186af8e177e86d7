"""The Metric Lab and the production calls around it: what the Lab holds and whether it is ready
to learn from, human labels on calls, and the held-out calls the optimiser never saw."""
