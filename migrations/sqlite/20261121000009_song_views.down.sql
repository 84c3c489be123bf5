-- Undo 20261121000009_song_views: view counts are dropped (they are statistics, not songs).
DROP TABLE song_views;
