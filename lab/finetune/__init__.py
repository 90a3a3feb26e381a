"""LoRA fine-tuning: the training config, fine-tuning data, the training loop, base-vs-adapter evaluation, the background training job."""
