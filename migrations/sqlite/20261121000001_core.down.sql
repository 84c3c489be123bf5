DROP TABLE events;
DROP TABLE lyrics_versions;
DROP TABLE songs;
DROP TABLE assets;
DROP TABLE artist_aliases;
DROP TABLE artists;
DROP TABLE api_tokens;
DROP TABLE users;
