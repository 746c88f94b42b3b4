-- The deleted events held nothing of an erased user; there is nothing to restore.
SELECT 1;
