"""The PBX engine package: config, CLI, SIP edge, B2BUA engine, call logic."""
