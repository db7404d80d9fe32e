-- Run once by the postgres image when its data volume is empty (docker-compose.yml).
-- The Orthanc index lives in database "orthanc" (POSTGRES_DB); Kerma's records in "kerma".
CREATE DATABASE kerma OWNER orthanc;
