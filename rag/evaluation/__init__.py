"""The evaluation suite: gold sets, deterministic metrics, the baseline, reports."""
