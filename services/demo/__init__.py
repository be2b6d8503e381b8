"""Demo data (演示数据): a deterministic seed of enterprises, relations and violation records, with
the same content hashes and audit entries as real data, and the pools of names it draws from."""
