"""The embedded demo venue's parts, apart from the core: printer emulator, frame synthesiser, demo venue."""
