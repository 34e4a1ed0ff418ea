"""Training the models the product ships (run by hand; CI never trains)."""
