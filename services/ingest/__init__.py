"""Ingestion (数据归集): departments push violation records, which are parsed, validated, stored
with a hash-chained version log, checked for integrity and measured for quality."""
