"""Preprocessing's parts: which files and speakers a dataset folder holds (``discovery``) and the work on one
source file (``worker``). The stage that runs them is :mod:`arvc.stages.preprocess`."""
