"""Batch processing of a squad's clips: inputs, tasks, engines (local pool, Ray), summaries."""
