-- After closing, whoever asked for the work rates it: 1 to 5 and a comment, once.
ALTER TABLE tickets ADD COLUMN rating TEXT; -- JSON of the Rating
