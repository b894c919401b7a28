"""The lab's Supervisor + WCP emulator (see docs/dev/lab-design.md)."""
