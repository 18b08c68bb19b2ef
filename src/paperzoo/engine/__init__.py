"""Training engine: config, tasks, trainer, checkpoints, distributed set-up, logging and the run driver."""
