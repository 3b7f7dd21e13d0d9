-- Runs once, when the compose volume is first created. One database per service (each service
-- also creates its own at start-up if missing) and dapr_state for the Dapr state store.
CREATE DATABASE tickets;
CREATE DATABASE venues;
CREATE DATABASE orders;
CREATE DATABASE payments;
CREATE DATABASE gateway;
CREATE DATABASE expirations;
CREATE DATABASE dapr_state;
