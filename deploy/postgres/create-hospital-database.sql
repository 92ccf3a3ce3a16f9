-- Run once by the PostgreSQL image when its data volume is new (compose.yaml): the hospital middleware keeps
-- its own database beside the platform's, on the same server.
CREATE DATABASE hospital;
