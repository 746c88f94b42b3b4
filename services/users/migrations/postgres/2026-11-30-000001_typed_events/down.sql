-- The deleted events held nothing but an erased user's id; there is nothing to restore.
SELECT 1;
