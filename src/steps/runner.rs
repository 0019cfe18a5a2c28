//! The runner: executes the step plan against the engine and the health checks.
