"""Editing on top of `stylegan_core`: attribute directions, style mixing, latents on disk."""
