"""Test support: fixtures that start real components on free ports and always stop them."""
