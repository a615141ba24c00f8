"""What the portal says about an enterprise: the credit check, certificates and the blacklist's terms."""
