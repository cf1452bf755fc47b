"""Process-wide plumbing: settings, the one clock, structured logging, telemetry."""
