"""Answers out: the shared prompt template, local transformers models (continuous batching with prompt lookup), an
OpenAI-compatible endpoint, LoRA adapter folders."""
