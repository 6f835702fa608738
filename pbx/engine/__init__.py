"""Call logic: plain asyncio, driven by events from the SIP adapter; never imports sippy."""
