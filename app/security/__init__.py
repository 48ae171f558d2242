"""CDS Client JWT verification: tokens, keys, replay."""
