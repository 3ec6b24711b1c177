"""Adapters that let other frameworks use the pipeline as their own parts."""
