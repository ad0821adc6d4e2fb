"""Device configuration: the schema, its loader and migrations, provisioning, first boot, self-test."""
