DROP TABLE fanout_jobs;
