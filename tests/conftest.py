"""The supamigrate plugin is loaded through its pytest11 entry point; nothing to wire here."""
