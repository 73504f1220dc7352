"""The x4 super-resolution benchmark: HR/LR pairs (``pairs``), scores (``scoring``), methods that
plug in (``methods``), the resumable run (``harness``) and its tables and plots (``report``)."""
