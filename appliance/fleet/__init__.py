"""The office link: what a rig hands over to its organisation, and how.

:mod:`.messages` is the contract both ends share (topics, the envelope, its
checks). The rig's outbox and sender, and the office's collector, build on it.
"""
