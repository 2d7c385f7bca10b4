"""Benchmarks of GridPatrol against straightforward baselines, each printing a ratio measured in one run."""
