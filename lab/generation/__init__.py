"""Answers out: the shared prompt template, local transformers models, an OpenAI-compatible endpoint, LoRA adapter folders."""
