"""Training infrastructure shared by the systems (Lightning callbacks, plugins and data helpers).

- :mod:`~genlmk.training.checkpoint_io`: every checkpoint write is atomic (tmp file, fsync, rename);
- :mod:`~genlmk.training.sampling`: a training order that depends only on (seed, epoch), per-item
  random streams, and the data position that checkpoints carry, so a run resumes mid-epoch exactly;
- :mod:`~genlmk.training.random_state`: the global random streams in checkpoints, per rank;
- :mod:`~genlmk.training.distributed`: per-rank seeds and gathering per-rank state for checkpoints;
- :mod:`~genlmk.training.guards`: stop on a non-finite loss or gradient before it reaches the weights;
- :mod:`~genlmk.training.resume`: ``--ckpt_path last`` resolved to the run it continues.
"""
