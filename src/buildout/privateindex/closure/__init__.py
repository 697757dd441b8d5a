"""What an offline run needs: targets, resolution with uv, completion (pure)."""
