"""`python -m lab bench`: speed as ratios against baselines measured in the same run (see `lab.bench.suite`)."""
