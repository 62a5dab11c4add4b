"""Training StyleGAN2 on your own images: dataset tool, procedural portraits, discriminator, losses, trainer."""
