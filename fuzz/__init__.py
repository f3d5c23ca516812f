"""bncheck fuzzing: seeded mutators, the oracle, the campaign script and atheris targets (see README)."""
