DROP TABLE broadcast_quota_locks;
