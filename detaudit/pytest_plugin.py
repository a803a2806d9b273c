"""pytest plugin (entry point ``pytest11``). Loads without importing torch or mmdet."""
