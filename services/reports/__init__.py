"""Reports (信用报告): asking for one on any channel, assembling its snapshot, signing, rendering
and issuing it, and verifying an issued report or PDF against its evidence."""
