-- Runs once, when the compose PostgreSQL volume is first created. Each service owns its
-- database; add one line per service as it joins the stack.
CREATE DATABASE users;
CREATE DATABASE actions;
CREATE DATABASE notifications;
CREATE DATABASE analytics;
