"""The supamigrate plugin is loaded through its pytest11 entry point; nothing to wire here.

``pytester`` runs pytest on small projects in the toolkit's own tests (the pgTAP items).
"""

pytest_plugins = ["pytester"]
