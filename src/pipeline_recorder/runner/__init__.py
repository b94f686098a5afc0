"""The pipeline runner: configs, stages 0-4, safety checks, backends."""
