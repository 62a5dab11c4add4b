"""File names and metadata keys of the native model format; a leaf module that imports nothing."""

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CONFIG_METADATA_KEY = "stylegan_studio_config"  # the config JSON inside the safetensors header too
RUN_SNAPSHOT_PREFIX = "network-snapshot-"  # a training run's snapshot directories: network-snapshot-KKKKKK.KKK
