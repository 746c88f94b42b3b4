DROP TABLE chorus_api_usage;
