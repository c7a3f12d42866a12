"""HTTP-facing layer: parameter parsing, authentication, the action registry and the routes."""
