"""Image automation: scan registries for tags, pick the newest allowed, commit the bump to Git."""
