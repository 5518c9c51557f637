"""Tests that prove the control plane is real: the apiserver decides, not a mock."""
