"""distillbench: a reproducibility benchmark harness for distillation papers."""

__version__ = "0.1.0"
