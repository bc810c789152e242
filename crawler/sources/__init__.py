"""Where title pages come from: the live site, the Wayback Machine, WARC files."""
