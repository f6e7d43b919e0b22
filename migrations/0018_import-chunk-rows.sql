-- Import chunks sized from the D1 time of the chunks before (worker/lib/bounded.ts):
-- the rows per chunk, kept for the next invocation.
ALTER TABLE `imports` ADD `chunk_rows` integer;