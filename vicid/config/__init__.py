"""Connection and pool configuration loaded over vici (charon's vici_config.c/vici_attribute.c)."""
