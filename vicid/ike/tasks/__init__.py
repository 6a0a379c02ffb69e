"""IKEv2 tasks, one per file, with charon's task contract (``task.h``) made explicit."""
