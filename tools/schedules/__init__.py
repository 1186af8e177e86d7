"""Cekura's in-product optimiser schedules: cron checks, firing times and the views tools return."""
