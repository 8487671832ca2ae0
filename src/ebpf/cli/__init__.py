"""The ``ebpf`` command line."""
